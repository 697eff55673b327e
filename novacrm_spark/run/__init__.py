"""Running the pipeline: what surrounds the runner (today the run lock; see README, Architecture)."""
