"""Lints and renders a Helm chart with Helm's own Go SDK (PyPI `helm-python-sdk`), for the
integration tests: no `helm` binary is needed.

Reads one JSON request on standard input and writes one JSON answer on standard output:
  {"op": "lint", "chart": DIR, "values": {...}}
      -> {"messages": [{"severity", "path", "error"}], "errors": [...]}
  {"op": "render", "chart": DIR, "values": {...}, "name": NAME, "namespace": NS}
      -> {"manifests": {template path: text}, "crds": [{"name", "filename", "data"}], "notes": text}
     or {"error": message} when the values fail the chart's schema or a template fails.
  {"op": "command", "command": "helm install NAME CHART -n NS --set a=b ..."}
      -> {"args": [positional arguments], "namespace": NS, "values": {...}} (the --set
         expressions parsed and merged by Helm's own parser, as `helm install` does)
Values are checked against values.schema.json the way `helm install` checks them (chart
defaults coalesced with the given values first).
"""

import json
import shlex
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


def command(request):
    words = shlex.split(request["command"])
    values, positional, namespace = {}, [], None
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("--set", "-n", "--namespace", "-f", "--values"):
            index += 1
            value = words[index]
            if word == "--set":
                _merge(values, helm_python.parse_set_string(value))
            elif word in ("-n", "--namespace"):
                namespace = value
            else:
                raise ValueError(f"values files are not supported here: {value}")
        elif not word.startswith("-"):
            positional.append(word)
        index += 1
    return {"args": positional, "namespace": namespace, "values": values}


def _merge(into, more):
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def main():
    helm_python.disable_logging()
    request = json.load(sys.stdin)
    operations = {"lint": lint, "render": render, "command": command}
    json.dump(operations[request["op"]](request), sys.stdout)


if __name__ == "__main__":
    main()
