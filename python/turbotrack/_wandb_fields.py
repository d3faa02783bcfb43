"""wandb 0.31's ``Settings`` fields: their defaults, and what the ones with a meaning here become.

Every field of ``wandb.Settings`` is accepted by :class:`turbotrack.Settings` and ``settings={...}``.
:data:`MEANING` maps the fields that mean something here to turbotrack's run settings (see
``turbotrack.settings.RunSettings``); every other field is kept, readable as an attribute, and has no
effect (wandb's service, uploads, launch, sweeps and the like have no counterpart here).
wandb's legacy spellings with a leading underscore (``_disable_stats``, ``_service_wait``) are its
``x_`` fields (``x_disable_stats``, ``x_service_wait``), as wandb reads them.
"""

from __future__ import annotations

from typing import Any, Callable

#: Fields whose wandb default is None.
_NONE = """
api_key app_url_override azure_account_url_to_access_key capture_loggers code_dir config_paths docker email
entity fork_from git_commit git_remote_url git_root host http_proxy https_proxy identity_token_file job_name
job_source launch_config_path login_timeout notebook_name organization program program_abspath program_relpath
project resume resume_from run_group run_id run_job_type run_name run_notes run_tags save_code settings_system
show_colors show_emoji stop_fn strict sweep_id sweep_param_path sync_tensorboard use_dot_wandb username
x_executable x_extra_http_headers x_file_stream_max_bytes x_file_stream_max_line_bytes x_file_stream_retry_max
x_file_stream_retry_wait_max_seconds x_file_stream_retry_wait_min_seconds x_file_stream_timeout_seconds
x_file_stream_transmit_interval x_file_transfer_retry_max x_file_transfer_retry_wait_max_seconds
x_file_transfer_retry_wait_min_seconds x_file_transfer_timeout_seconds x_files_dir x_flow_control_custom
x_flow_control_disabled x_graphql_retry_max x_graphql_retry_wait_max_seconds x_graphql_retry_wait_min_seconds
x_graphql_timeout_seconds x_jupyter_name x_jupyter_path x_jupyter_root x_label x_live_policy_rate_limit
x_live_policy_wait_time x_network_buffer x_proxies x_runqueue_item_id x_service_transport x_start_time
x_stats_cpu_count x_stats_cpu_logical_count x_stats_dcgm_exporter x_stats_gpu_count x_stats_gpu_device_ids
x_stats_gpu_type x_stats_neuron_monitor_config_path x_stats_open_metrics_endpoints x_stats_open_metrics_filters
x_stats_open_metrics_http_headers x_stats_pid credentials_file root_dir anonymous
""".split()
#: Boolean fields whose wandb default is False.
_FALSE = """
allow_media_symlink allow_val_change console_multipart disable_code disable_git finish_timeout_raises force
insecure_disable_ssl label_disable launch quiet relogin resumed sagemaker_disable silent stop_on_fatal_error
symlink table_raise_on_max_row_limit_exceeded x_cli_only_mode x_disable_machine_info x_disable_meta
x_disable_stats x_disable_viewer x_server_side_derived_summary x_skip_transaction_log x_stats_no_cgroup
x_stats_self_usage x_stats_track_process_tree x_sync
""".split()
#: Boolean fields whose wandb default is True.
_TRUE = """
allow_offline_artifacts disable_git_fork_point disable_job_creation show_errors show_info show_warnings
x_file_stream_no_gzip x_primary x_save_requirements x_update_finish_state
""".split()

#: Every wandb 0.31 ``Settings`` field and its default (None where wandb computes it at run time).
DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(_NONE),
    **dict.fromkeys(_FALSE, False),
    **dict.fromkeys(_TRUE, True),
    "base_url": None,  # wandb's cloud; here: no server unless one is configured
    "console": "auto",
    "console_chunk_max_bytes": 0,
    "console_chunk_max_seconds": 0,
    "finish_timeout": 0.0,
    "git_remote": "origin",
    "heartbeat_seconds": 30,
    "ignore_globs": (),
    "init_timeout": 90.0,
    "max_end_of_run_history_metrics": 10,
    "max_end_of_run_summary_metrics": 10,
    "mode": "online",
    "reinit": "default",
    "summary_timeout": 60,
    "summary_warnings": 5,
    "x_history_value_encoding": "json",
    "x_internal_check_process": 8.0,
    "x_log_level": 20,
    "x_service_wait": 30.0,
    "x_stats_buffer_size": 0,
    "x_stats_coreweave_metadata_base_url": "http://169.254.169.254",
    "x_stats_coreweave_metadata_endpoint": "/api/v2/cloud-init/meta-data",
    "x_stats_disk_paths": ("/",),
    "x_stats_sampling_interval": 15.0,
    "x_sync_dir_suffix": "",
    "x_transaction_log_flush_interval": 15.0,
}

#: wandb's mode words in turbotrack's ("dryrun" and "run" are wandb's old names; "shared": a shared run).
MODES = {"dryrun": "offline", "offline": "offline", "run": "online", "online": "online", "disabled": "disabled"}
CONSOLE = ("auto", "off", "wrap", "redirect", "wrap_raw", "wrap_emu")
_OFF = {"off", "false", "0", "none", "no"}


def truth(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"setting {field!r} must be true or false, got {value!r}")


def _number(field: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"setting {field!r} must be a number of seconds, got {value!r}") from None


def _mode(value: Any) -> dict[str, Any]:
    word = str(value).strip().lower()
    if word == "shared":
        return {"shared": True}
    if word not in MODES:
        raise ValueError(f"setting 'mode' must be one of {sorted([*MODES, 'shared'])}, got {value!r}")
    return {"mode": MODES[word]}


def _console(value: Any) -> dict[str, Any]:
    word = str(value).strip().lower()
    if word not in CONSOLE and word not in _OFF and word not in ("on", "true"):
        raise ValueError(f"setting 'console' must be one of {list(CONSOLE)}, got {value!r}")
    return {"capture_stdout": word not in _OFF}


def _tags(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # $WANDB_TAGS: comma-separated
        return {"tags": [t.strip() for t in value.split(",") if t.strip()]}
    return {"tags": list(value)}


def _not(target: str, field: str) -> Callable[[Any], dict[str, Any]]:
    return lambda v: {target: not truth(field, v)}


def _same(target: str) -> Callable[[Any], dict[str, Any]]:
    return lambda v: {target: v}


def _positive(target: str, field: str) -> Callable[[Any], dict[str, Any]]:
    """A number of seconds; wandb's 0 (no limit, or wandb's own default) leaves turbotrack's default."""
    return lambda v: {target: _number(field, v)} if _number(field, v) > 0 else {}


#: wandb field → what its value becomes in turbotrack's run settings.
MEANING: dict[str, Callable[[Any], dict[str, Any]]] = {
    "mode": _mode,
    "console": _console,
    "project": _same("project"),
    "entity": _same("entity"),
    "run_name": _same("name"),
    "run_id": _same("id"),
    "run_group": _same("group"),
    "run_job_type": _same("job_type"),
    "run_tags": _tags,
    "run_notes": _same("notes"),
    "root_dir": _same("dir"),
    "resume": _same("resume"),
    "reinit": _same("reinit"),
    "allow_val_change": lambda v: {"allow_val_change": truth("allow_val_change", v)},
    "config_paths": lambda v: {"config_paths": [v] if isinstance(v, str) else list(v)},
    "silent": lambda v: {"silent": truth("silent", v)},
    "quiet": lambda v: {"silent": True} if truth("quiet", v) else {},
    "init_timeout": lambda v: {"init_timeout": _number("init_timeout", v)},
    "disable_git": _not("capture_git", "disable_git"),
    "x_disable_stats": _not("capture_system", "x_disable_stats"),
    "x_disable_meta": _not("capture_metadata", "x_disable_meta"),
    "x_save_requirements": lambda v: {"capture_requirements": truth("x_save_requirements", v)},
    "x_stats_sampling_interval": _positive("system_interval", "x_stats_sampling_interval"),
    "x_primary": lambda v: {} if truth("x_primary", v) else {"shared": True},
    "base_url": _same("base_url"),
    "api_key": _same("api_key"),
    "finish_timeout": _positive("sync_timeout", "finish_timeout"),
    "x_file_stream_transmit_interval": _positive("sync_interval", "x_file_stream_transmit_interval"),
}


#: Fields of earlier wandb versions that 0.31 refuses but training scripts still pass (``start_method="thread"``
#: in many a DDP script): accepted and ignored, as they had no effect here either.
REMOVED = frozenset({"start_method", "x_disable_service", "disable_service", "x_require_legacy_service"})


def canonical(name: str) -> str:
    """wandb's name for a setting: a legacy ``_name`` is ``x_name`` (``_disable_stats``), as wandb reads it."""
    return "x" + name if name.startswith("_") else name


def translate(name: str, value: Any) -> dict[str, Any]:
    """The turbotrack run settings a wandb setting stands for (empty for one with no meaning here,
    or a value of None, which wandb treats as not given)."""
    meaning = MEANING.get(name)
    if meaning is None or value is None:
        return {}
    return meaning(value)
