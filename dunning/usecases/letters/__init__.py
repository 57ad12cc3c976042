"""Letters: render the night's letters, batch and send them to the print house, read its acknowledgements."""
