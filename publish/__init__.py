"""`make publish`: publish an order status change as a shop's backend would (docs/publishing.md)."""
