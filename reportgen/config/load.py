"""Loading a config file: marked YAML -> shape (pydantic) -> meaning, every problem in one ConfigError.

Pydantic's errors are rewritten to point at file:line:column with the key path, what was found and
the nearest valid key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from reportgen.config.meaning import check_meaning, did_you_mean
from reportgen.config.models import Config, LoadedConfig, dotted_path
from reportgen.config.yamlmarks import KeyPath, MarkedYaml, load_marked_yaml
from reportgen.errors import ConfigError


def load_config(path: str | Path) -> LoadedConfig:
    """Read, parse and validate a config file; raise one ``ConfigError`` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    return parse_config(text, path)


def parse_config(text: str, path: str | Path) -> LoadedConfig:
    """Validate config text; ``path`` is used for messages and relative paths."""
    path = Path(path)
    marked = load_marked_yaml(text, path)
    if not isinstance(marked.data, dict):
        raise ConfigError(f"{path}:1:1: a config must be a mapping with at least 'datasets'")
    try:
        config = Config.model_validate(marked.data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, marked)) from None
    loaded = LoadedConfig(config, path, marked, text)
    problems = check_meaning(loaded)
    if problems:
        raise ConfigError("\n".join(problems))
    return loaded


def _model_at(loc: KeyPath, model: type[BaseModel] = Config) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at ``loc`` (to suggest its field names)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                # a dict of models: the key is a user name (dataset or audience), keep the value type
                continue
            current = _inner_model(field.annotation)
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """Find the BaseModel inside list[...], dict[str, ...], X | None annotations."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _format_validation_error(exc: ValidationError, marked: MarkedYaml) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        # an unknown key is pointed at by its key; a wrong value by the value itself
        where = marked.mark(loc) if err["type"] in ("extra_forbidden", "missing") else marked.value_mark(loc)
        if isinstance(err.get("input"), dict):  # a model-level check naming one of the mapping's keys
            named = [k for k in err["input"] if f".{k} " in err["msg"] or f"'{k}'" in err["msg"]]
            if named:
                where = marked.mark(loc + (named[0],))
        dotted = dotted_path(loc)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            parent = _model_at(loc[:-1])
            valid = sorted(parent.model_fields) if parent else []
            hint = did_you_mean(key, valid)
            if key == "password" and "password_env" in valid:
                hint = " - a password is never written in the config; name an environment variable in password_env"
            lines.append(f"{where}: unknown key {key!r} in {dotted_path(loc[:-1]) or 'the config'}{hint}"
                         + (f" (valid keys: {', '.join(valid)})" if valid and not hint else ""))
        elif err["type"] == "missing":
            lines.append(f"{where}: {dotted}: required key missing")
        else:
            found = err.get("input")
            found_text = f"; found {found!r}" if not isinstance(found, (dict, list)) else ""
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {dotted}: {message}{found_text}")
    return "\n".join(lines)
