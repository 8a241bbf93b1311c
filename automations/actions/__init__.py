"""Actions: one class per kind of delivery, each with one `act()`."""
