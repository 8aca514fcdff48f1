"""Project runners: ``IncrementalRunner`` and ``DaskRunner``.

``IncrementalRunner``: re-run a node only when what it reads has changed.

``kedro run --pipelines=casme2 --runner=me_emotion.runner.IncrementalRunner``
runs the pipeline like ``SequentialRunner``, except that before each node it
computes a *signature* of everything the node reads -- parameter values, the
content of its input files (a sealed partition folder by its per-clip
fingerprints, a raw release folder by its files' names, sizes and times), the
node's code (``code_fingerprint``: its function's module and the project
modules that imports, see ``me_emotion.code_closure``, through partials,
wrappers and bound methods, and the values bound) -- and skips the node when the signature and the
fingerprints of its outputs are those recorded after its last successful run
(``data/09_run_stamps/<node>.json``). Nodes run in dependency order, so a
node whose input was just rewritten sees the new content. An in-memory
dataset between nodes counts by its producer's signature; a skipped producer
runs again only when a reader has to run.

Inside the per-clip stages (sampling, faces, embeddings, flow) a node that
does run recomputes only the clips whose fingerprint changed (see
``me_emotion.fingerprint``): ten percent more clips cost about ten percent
of a cold run there; training and reporting re-run whole when any input
changed.

``DaskRunner``: ``kedro run --pipelines=casme2 --runner=me_emotion.runner.DaskRunner``
runs every node as a task of a Dask distributed cluster (the scheduler given
by ``--runner-params address=tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``,
else a ``LocalCluster`` sized to the machine). See ``docs/scale-out.md``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro.runner import SequentialRunner
from kedro.runner.task import Task

from me_emotion.dask_runner import DaskRunner, SchedulerUnavailableError
from me_emotion.fingerprint import fingerprint
from me_emotion.node_signature import UNKNOWN, dataset_fingerprint, in_memory, node_code

__all__ = ["DaskRunner", "IncrementalRunner", "SchedulerUnavailableError"]

logger = logging.getLogger(__name__)

DEFAULT_STAMPS = "data/09_run_stamps"


class IncrementalRunner(SequentialRunner):
    """``SequentialRunner`` that skips nodes whose inputs and outputs are unchanged.

    Args:
        is_async: load and save asynchronously (as ``SequentialRunner``).
        stamps: folder of the per-node records (``data/09_run_stamps``).
    """

    def __init__(self, is_async: bool = False, stamps: str = DEFAULT_STAMPS):
        super().__init__(is_async=is_async)
        self._stamps = Path(stamps)
        # in-memory datasets read by a later node -> their producer; such a
        # dataset is fingerprinted by its producer's signature and computed on
        # demand when its producer was skipped and a reader runs
        self._memory_producers: dict[str, Node] = {}
        self._signatures: dict[Node, dict[str, Any]] = {}

    def _stamp_file(self, node: Node) -> Path:
        return self._stamps / f"{node.name.replace('/', '_')}.json"

    def _fingerprint(self, name: str, catalog: Any) -> str | None:
        producer = self._memory_producers.get(name)
        if producer is not None:
            return fingerprint("in memory", name, self._signatures[producer])
        return dataset_fingerprint(name, catalog)

    def _signature(self, node: Node, catalog: Any) -> dict[str, Any]:
        inputs = {name: self._fingerprint(name, catalog) for name in node.inputs}
        return {"code": node_code(node), "inputs": inputs}

    def _outputs(self, node: Node, catalog: Any) -> dict[str, Any]:
        return {name: self._fingerprint(name, catalog) for name in node.outputs}

    def _up_to_date(self, node: Node, catalog: Any, signature: dict[str, Any]) -> bool:
        stamp_file = self._stamp_file(node)
        if not stamp_file.is_file() or UNKNOWN in json.dumps(signature):
            return False
        stamp = json.loads(stamp_file.read_text())
        if stamp.get("signature") != signature:
            return False
        outputs = self._outputs(node, catalog)
        return UNKNOWN not in outputs.values() and stamp.get("outputs") == outputs

    def _run(
        self,
        pipeline: Pipeline,
        catalog: Any,
        hook_manager: Any = None,
        run_id: str | None = None,
    ) -> None:
        self._validate_catalog(catalog)
        self._validate_nodes(pipeline.nodes)
        self._set_manager_datasets(catalog)
        self._stamps.mkdir(parents=True, exist_ok=True)
        free_outputs = pipeline.outputs()
        self._memory_producers = {
            name: node
            for node in pipeline.nodes
            for name in node.outputs
            if name not in free_outputs
            and in_memory(catalog.get(name, fallback_to_runtime_pattern=True))
        }
        self._signatures = {}
        done: set[Node] = set()

        def execute(node: Node) -> None:
            # a reader that runs needs its in-memory inputs: make the skipped ones
            for name in node.inputs:
                producer = self._memory_producers.get(name)
                if producer is not None and not catalog.exists(name):
                    logger.info("Running skipped node for its output %s", name)
                    execute(producer)
            self._stamp_file(node).unlink(missing_ok=True)  # stale until it succeeds
            start = time.perf_counter()
            try:
                Task(
                    node=node,
                    catalog=catalog,
                    hook_manager=hook_manager,
                    is_async=self._is_async,
                    run_id=run_id,
                ).execute()
            except Exception:
                self._suggest_resume_scenario(pipeline, done, catalog)
                raise
            done.add(node)
            self._stamp_file(node).write_text(
                json.dumps(
                    {
                        "node": node.name,
                        "signature": self._signatures[node],
                        "outputs": self._outputs(node, catalog),
                    },
                    indent=1,
                )
            )
            logger.info(
                "Completed node: %s (%.1f s)", node.name, time.perf_counter() - start
            )

        for node in pipeline.nodes:  # topologically sorted
            signature = self._signatures[node] = self._signature(node, catalog)
            if self._up_to_date(node, catalog, signature):
                logger.info("Skipped node (inputs unchanged): %s", node.name)
                continue
            execute(node)
        logger.info(
            "IncrementalRunner: %d node(s) run, %d skipped as unchanged (%s)",
            len(done),
            len(pipeline.nodes) - len(done),
            self._stamps,
        )
