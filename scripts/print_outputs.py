"""Print where a pipeline's outputs were written (the catalog's file paths)."""

from __future__ import annotations

import sys
from pathlib import Path

from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project


def main(pipeline_name: str) -> None:
    project = Path.cwd()
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        catalog = session.load_context().catalog
        outputs = sorted(pipelines[pipeline_name].all_outputs())
        print(f"\nOutputs of the '{pipeline_name}' pipeline:")  # noqa: T201
        for name in outputs:
            if name not in catalog:
                continue
            described = catalog[name]._describe()  # noqa: SLF001 - public describe is repr only
            location = described.get("filepath") or described.get("path")
            if location:
                print(f"  {name:<32} {location}")  # noqa: T201
        report = f"{pipeline_name}.report_html"
        if report in catalog:
            path = Path(catalog[report]._describe()["filepath"])  # noqa: SLF001
            print(f"\nReport (open in a browser): {path}")  # noqa: T201


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "casme2")
