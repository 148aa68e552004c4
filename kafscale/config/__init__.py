"""Configuration: the key table (keys.py), the rules a value must keep (rules.py), parsing into
settings (settings.py), the units (quantities, durations, cron) and the etcd facts the rules use."""
