"""The collector: runs the jobs enabled modules declare, on schedule or once for cron.

``runner.Collector`` and ``jobs.run_job`` are imported from their files; this package file stays
empty so that ``exit_status`` (the CLI's help text) imports nothing heavy.
"""
