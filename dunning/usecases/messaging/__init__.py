"""Messaging: composing and dispatching email and SMS; bounces and delivery receipts."""
