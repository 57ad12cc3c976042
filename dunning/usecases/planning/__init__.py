"""Planning (the night): every case walked through its flow on date D; rate tables."""
