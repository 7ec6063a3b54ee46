"""Lints and renders a Helm chart with Helm's own Go SDK (PyPI `helm-python-sdk`), for the
integration tests: no `helm` binary is needed.

Reads one JSON request on standard input and writes one JSON answer on standard output:
  {"op": "lint", "chart": DIR, "values": {...}}
      -> {"messages": [{"severity", "path", "error"}], "errors": [...]}
  {"op": "render", "chart": DIR, "values": {...}, "name": NAME, "namespace": NS}
      -> {"manifests": {template path: text}, "crds": [{"name", "filename", "data"}], "notes": text}
     or {"error": message} when the values fail the chart's schema or a template fails.
Values are checked against values.schema.json the way `helm install` checks them (chart
defaults coalesced with the given values first).
"""

import json
import sys

import helm_python


def render(request):
    chart = helm_python.Chart.load(request["chart"])
    try:
        chart.validate_schema(chart.merge_values(request.get("values") or {}))
        rendered = chart.render(
            request.get("values") or {},
            name=request.get("name", "zonesync"),
            namespace=request.get("namespace", "zonesync"),
            is_install=True,
        )
    except helm_python.HelmError as error:
        return {"error": str(error)}
    notes = {path: text for path, text in rendered.items() if path.endswith("NOTES.txt")}
    manifests = {path: text for path, text in rendered.items() if path not in notes}
    crds = [
        {"name": crd["name"], "filename": crd["filename"], "data": _text(crd["data"])}
        for crd in chart.crds
    ]
    return {"manifests": manifests, "crds": crds, "notes": "".join(notes.values())}


def _text(data):
    return data.decode() if isinstance(data, (bytes, bytearray)) else data


def lint(request):
    report = helm_python.lint(request["chart"], request.get("values"), strict=True)
    return {"messages": report.get("messages") or [], "errors": report.get("errors") or []}


def main():
    helm_python.disable_logging()
    request = json.load(sys.stdin)
    operations = {"lint": lint, "render": render}
    json.dump(operations[request["op"]](request), sys.stdout)


if __name__ == "__main__":
    main()
