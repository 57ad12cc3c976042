"""Payment arrangements: make a plan for a case (pausing its flow) and list the plans."""
