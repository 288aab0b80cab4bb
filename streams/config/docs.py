"""Render every setting, its default and its reason as a Markdown table (the README's)."""

from pydantic import BaseModel

from streams.config.settings import ENV_DELIMITER, ENV_PREFIX, KnightwatchSettings


def _rows(model: type[BaseModel], path: list[str], defaults: BaseModel | None = None,
          context: str = "") -> list[tuple[str, str, str]]:
    """`defaults`: the instance the parent field defaults to, whose values are this model's
    defaults there (a model used for several fields, each with other values); `context`: the
    parent field's description, said before each of its fields'."""
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        default = getattr(defaults, name) if defaults is not None else field.default
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested = default if isinstance(default, BaseModel) else None
            inner = field.description if nested is not None and field.description else ""
            rows.extend(_rows(annotation, [*path, name], nested, inner))
            continue
        env = ENV_PREFIX + ENV_DELIMITER.join([*path, name]).upper()
        if isinstance(default, tuple):
            shown = ",".join(default)
        else:
            shown = "" if default is None else (
                f"{default:g}" if isinstance(default, float) else str(default)
            )
        description = " ".join(filter(None, [context, field.description or ""]))
        rows.append((env, shown, description.replace("|", "\\|")))
    return rows


def all_settings() -> list[tuple[str, str, str]]:
    return _rows(KnightwatchSettings, [])


def settings_markdown() -> str:
    lines = ["| environment variable | default | meaning and reason |", "|---|---|---|"]
    lines += [f"| `{env}` | `{default}` | {desc} |" for env, default, desc in all_settings()]
    return "\n".join(lines)


BEGIN, END = "<!-- settings:begin -->\n", "\n<!-- settings:end -->"


def update_readme(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + BEGIN + settings_markdown() + END + tail)
