"""A step (experiment, evaluation) as one Azure ML pipeline job with a parallel node.

step.py drives it: reuse what earlier jobs of the same runs did (naming.py finds them by name), else
submit one; wait, reattach or cancel (tracking.py); merge what comes back (merge.py). The job is made of a
code bundle (bundle.py: the llmops package, the flow snapshots, the cassettes, the manifest), the lines as
shard files (shards.py), a pinned environment (environment.py) and the pipeline itself (pipeline.py).
"""
