"""What is deployed: one construct per concern, composed by `OrderTrackingStack`."""
