"""Every write goes through a small action function here, in one transaction; side effects
(Celery tasks) are scheduled with `transaction.on_commit`. Views and tasks stay thin."""
