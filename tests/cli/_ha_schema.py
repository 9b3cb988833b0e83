"""The parts of Home Assistant's MQTT discovery schema for sensors that the bridge uses.

Written from Home Assistant's documentation of MQTT discovery and of sensor device
classes: a config must name a state topic, a unique id when it has a device, a device
with identifiers, an ``origin`` with a name; a device class allows some units and
state classes only (energy is never ``measurement``; power and current are).
"""

from __future__ import annotations

import re

#: device_class -> (allowed units, allowed state classes)
DEVICE_CLASSES: dict[str, tuple[set[str], set[str]]] = {
    "energy": ({"Wh", "kWh", "MWh", "GWh", "J", "kJ", "MJ", "GJ"}, {"total", "total_increasing"}),
    "power": ({"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"}, {"measurement"}),
    "current": ({"A", "mA"}, {"measurement"}),
}
#: Keys a sensor config may have (the abbreviations are not used by the bridge).
SENSOR_KEYS = {
    "name",
    "unique_id",
    "object_id",
    "default_entity_id",
    "state_topic",
    "value_template",
    "unit_of_measurement",
    "device_class",
    "state_class",
    "suggested_display_precision",
    "availability",
    "availability_topic",
    "availability_mode",
    "payload_available",
    "payload_not_available",
    "expire_after",
    "force_update",
    "device",
    "origin",
    "icon",
    "enabled_by_default",
    "entity_category",
    "qos",
}
DEVICE_KEYS = {
    "identifiers",
    "connections",
    "name",
    "manufacturer",
    "model",
    "model_id",
    "serial_number",
    "sw_version",
    "hw_version",
    "suggested_area",
    "via_device",
    "configuration_url",
}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
TOPIC = re.compile(r"[^#+\s]+")


def check_sensor_config(topic: str, config: dict[str, object], prefix: str) -> list[str]:
    """Problems Home Assistant would have with one sensor discovery message."""
    problems: list[str] = []
    match = re.fullmatch(
        rf"{re.escape(prefix)}/sensor/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/config", topic
    )
    if match is None:
        problems.append(f"bad discovery topic {topic}")
    unknown = set(config) - SENSOR_KEYS
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    state_topic = config.get("state_topic")
    if not isinstance(state_topic, str) or not TOPIC.fullmatch(state_topic):
        problems.append("state_topic missing or not a topic")
    if not isinstance(config.get("unique_id"), str) or not config["unique_id"]:
        problems.append("unique_id is required with a device")
    device = config.get("device")
    if not isinstance(device, dict):
        problems.append("no device")
    else:
        if set(device) - DEVICE_KEYS:
            problems.append(f"unknown device keys {sorted(set(device) - DEVICE_KEYS)}")
        identifiers = device.get("identifiers")
        if not (isinstance(identifiers, list) and identifiers) and not device.get("connections"):
            problems.append("device needs identifiers or connections")
    origin = config.get("origin")
    if not isinstance(origin, dict) or not isinstance(origin.get("name"), str):
        problems.append("origin with a name is required")
    elif set(origin) - ORIGIN_KEYS:
        problems.append(f"unknown origin keys {sorted(set(origin) - ORIGIN_KEYS)}")
    device_class = config.get("device_class")
    if device_class not in DEVICE_CLASSES:
        problems.append(f"unexpected device_class {device_class!r}")
    else:
        units, state_classes = DEVICE_CLASSES[str(device_class)]
        if config.get("unit_of_measurement") not in units:
            problems.append(f"unit {config.get('unit_of_measurement')!r} not for {device_class}")
        if config.get("state_class") not in state_classes:
            problems.append(f"state_class {config.get('state_class')!r} not for {device_class}")
    availability = config.get("availability")
    if availability is not None:
        if not (
            isinstance(availability, list)
            and availability
            and all(
                isinstance(a, dict) and TOPIC.fullmatch(str(a.get("topic", "")))
                for a in availability
            )
        ):
            problems.append("availability must be a list of {topic: ...}")
    elif "availability_topic" not in config:
        problems.append("no availability")
    expire = config.get("expire_after")
    if expire is not None and (not isinstance(expire, int) or expire <= 0):
        problems.append("expire_after must be a positive whole number of seconds")
    template = config.get("value_template")
    if not isinstance(template, str) or not re.fullmatch(r"\{\{ value_json\.\w+ \}\}", template):
        problems.append("value_template must read one key of the JSON state")
    return problems
