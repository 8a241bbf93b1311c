"""Offline mode: runs written to a local directory, uploaded later by `strata sync`.

    <offline dir>/                 STRATA_OFFLINE_DIR, default ./.strata/offline
      blobs/ab/<digest>            each distinct file content (and manifest) once
      runs/<started>-<run id>/
        run.json                   project, id, name, job type, config, tags, created_at
        metrics.jsonl              one metric point per line (key, step, value, timestamp)
        records.jsonl              logged artifacts, used artifacts, and the final state
        synced.json                per server URL: records uploaded, whether complete

`store.py` reads and writes that layout, `run.py` is the offline `Run`, and `sync.py`
uploads through the same path as online logging.
"""
