"""Scaling tests: many jobs of one image at once through the real scheduler, and a model of the farm.

``hepstack scale run STUDY.yaml`` submits one task array per concurrency and arm (arms interleaved),
measures per job the queue wait, the container start latency, the per-event time (the workload's
TimeTracker database), the wall time and the exit code, and per concurrency the throughput, the
percentiles and the host's memory high-water mark (:mod:`hepstack.scale.submit`,
:mod:`hepstack.scale.collect`, :mod:`hepstack.scale.summary`, :mod:`hepstack.scale.report`).
:mod:`hepstack.scale.model` projects measured per-job costs to a production farm; ``hepstack stage``
(:mod:`hepstack.scale.stage`) loads an image into each node's store before a campaign.
"""
