"""What every outgoing message shares, letters and email and SMS alike: fees booked when it goes out."""
