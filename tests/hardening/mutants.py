"""Check that each hardening test fails when its protection is removed.

    .venv/bin/python -m tests.hardening.mutants            # every mutant
    .venv/bin/python -m tests.hardening.mutants host wal   # those whose name contains a word

Each mutant copies the tree to a temporary directory (the checkout is never
touched), removes or disables one protection by a literal text replacement,
and runs the test that names it in its "fails without" comment. A mutant the
test does not kill is a test that proves nothing; the script exits 1.
Not part of the test suite (about three minutes; it runs the tests many times).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
H = "tests/hardening/"
C = "tests/core/"
CH = C + "http/"
CR = C + "engines/redis/"


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    test: str


MUTANTS = [
    Mutant("host check", "lattice_rt_core/http/guard.py", "        if host not in allowed:",
           "        if False:",
           H + "test_access.py::test_every_route_refuses_a_host_that_is_not_exactly_allowed"),
    Mutant("allow-host names", "lattice_rt_core/http/guard.py",
           "    for host in (h.lower() for h in extra_hosts):", "    for host in ():",
           H + "test_access.py::test_allow_host_names_are_exact_too"),
    Mutant("origin check", "lattice_rt_core/http/guard.py",
           "        if origin is not None and not self._own_origin(",
           "        if False and not self._own_origin(",
           H + "test_access.py::test_every_route_refuses_a_foreign_origin_and_never_grants_cors"),
    Mutant("json content type", "lattice_rt_core/http/body.py",
           '    if ctype.split(";", 1)[0].strip().lower() != "application/json":',
           "    if False:", H + "test_access.py::test_posts_need_application_json"),
    Mutant("wal chmod repair", "lattice_rt_core/engines/local/journal.py",
           '    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):',
           "    for name in ():",
           H + "test_access.py::test_loose_files_left_by_a_crash_are_made_private"),
    Mutant("stream scope", "lattice_rt_core/engines/fanout.py",
           "            if scope is None or entry.workspace_id is None or "
           "entry.workspace_id in scope:",
           "            if True:",
           H + "test_access.py::test_streams_feed_and_presence_are_scoped_live_and_on_replay"),
    Mutant("feed scope", "lattice_rt_core/engines/fanout.py",
           "            if accepts(scope, entry.workspace_id):\n                out.append(entry)",
           "            if True:\n                out.append(entry)",
           H + "test_access.py::test_streams_feed_and_presence_are_scoped_live_and_on_replay"),
    Mutant("presence scope", "lattice_rt_core/engines/presence.py",
           "        return [e.public() for e in self._entries.values() "
           "if accepts(scope, e.workspace_id)]",
           "        return [e.public() for e in self._entries.values()]",
           H + "test_access.py::test_streams_feed_and_presence_are_scoped_live_and_on_replay"),
    Mutant("join membership", "lattice_rt_core/auth/access.py",
           "    _membership(principal, workspace_id)\n", "",
           H + "test_access.py::test_a_user_without_that_workspace_cannot_publish_or_join_there"),
    Mutant("publish membership", "lattice_rt_core/auth/access.py",
           "    _membership(principal, workspace_id, where)\n", "",
           H + "test_access.py::test_a_user_without_that_workspace_cannot_publish_or_join_there"),
    Mutant("streams per user", "lattice_rt_core/auth/access.py",
           "    if principal.scope is not None and open_streams >= limits.max_streams_per_user:",
           "    if False:",
           H + "test_access.py::test_concurrent_streams_per_user_are_capped_and_freed"),
    Mutant("stream slot freed", "lattice_rt_core/http/stream.py",
           "            self.streams[principal.user] -= 1", "            pass",
           H + "test_peers.py::test_flapping_clients_leave_nothing_behind"),
    Mutant("presence per user", "lattice_rt_core/auth/access.py",
           "    if holder is None and entries >= limits.max_presence_per_user:",
           "    if False:", H + "test_access.py::test_presence_entries_per_user_are_capped"),
    Mutant("status values", "lattice_rt_core/auth/access.py",
           "    if not isinstance(status, str) or status not in PRESENCE_STATUSES:",
           "    if not isinstance(status, str):",
           CH + "test_http_api.py::test_bad_status_input_gets_a_clear_4xx_and_changes_nothing"),
    Mutant("status text length", "lattice_rt_core/auth/access.py",
           '    return status, check_name(status_text, "status_text", limits, '
           "limits.max_status_text)",
           '    return status, check_name(status_text, "status_text", limits)',
           H + "test_access.py::test_string_lengths_and_characters_are_checked"),
    Mutant("status of another user's entry", "lattice_rt_core/auth/access.py",
           "    _own_entry(principal, holder)\n    _membership(principal, entry_workspace)",
           "    _membership(principal, entry_workspace)",
           H + "test_access.py::"
               "test_only_the_holder_or_the_owner_changes_a_status_and_only_in_its_workspace"),
    Mutant("status membership", "lattice_rt_core/auth/access.py",
           "    _membership(principal, entry_workspace)", "    pass",
           H + "test_access.py::"
               "test_only_the_holder_or_the_owner_changes_a_status_and_only_in_its_workspace"),
    Mutant("status coalescing", "lattice_rt_core/engines/presence.py",
           "        if now - entry.published_at < self.status_interval - _DUE_TOLERANCE:\n"
           "            return []\n",
           "",
           H + "test_access.py::test_a_flapping_client_cannot_flood_the_bus_with_status_events"),
    Mutant("trailing status publish", "lattice_rt_core/engines/local/bus.py",
           "        self._status_timer = self._loop.call_later(delay, self._on_status_timer)",
           "        self._status_timer = None",
           CH + "test_http_api.py::test_status_changes_are_coalesced_and_the_last_is_published"),
    Mutant("client ids per stream", "lattice_rt_core/auth/access.py",
           "    if len(client_ids) > limits.max_client_ids:", "    if False:",
           H + "test_access.py::test_client_ids_per_stream_are_capped"),
    Mutant("name length", "lattice_rt_core/protocol/limits.py",
           "    if not value or len(value) > max_len:", "    if not value:",
           H + "test_access.py::test_string_lengths_and_characters_are_checked"),
    Mutant("blank names", "lattice_rt_core/protocol/limits.py",
           "    if value.isspace():", "    if False:",
           C + "auth/test_access.py::test_bad_names_say_what_is_wrong"),
    Mutant("accounts name rule", "lattice_rt_core/protocol/accounts.py",
           "    problem = name_problem(value)\n", "    problem = None\n",
           C + "auth/test_access.py::test_accounts_use_the_same_rule"),
    Mutant("streamed body size", "lattice_rt_core/http/body.py",
           "        size += len(chunk)\n        if size > limits.max_body:",
           "        size += len(chunk)\n        if False:",
           H + "test_access.py::test_a_body_over_the_limit_is_413_even_without_a_length"),
    Mutant("surrogate names", "lattice_rt_core/protocol/limits.py",
           "    if not _valid_unicode(value):", "    if False:",
           H + "test_access.py::test_lone_surrogates_are_a_4xx_or_stored_escaped_never_a_500"),
    Mutant("json answers", "lattice_rt_core/http/responses.py",
           '        return to_json(content).encode("utf-8")',
           "        return super().render(content)",
           H + "test_access.py::test_lone_surrogates_are_a_4xx_or_stored_escaped_never_a_500"),
    Mutant("feed limit parse", "lattice_rt_core/http/app.py",
           "    except ValueError:\n"
           "        raise Refusal(400, f\"{name!r} must be an integer\") from None",
           "    except ZeroDivisionError:\n"
           "        raise Refusal(400, f\"{name!r} must be an integer\") from None",
           CH + "test_http_api.py::test_feed_bad_limit_is_400"),
    Mutant("join body shape", "lattice_rt_core/http/body.py",
           '    if not isinstance(body, dict):\n'
           '        raise Refusal(422, "body must be a JSON object")\n',
           "",
           H + "test_openapi_fuzz.py::test_every_operation_survives_fuzzing"),
    Mutant("last-event-id parse", "lattice_rt_core/http/stream.py",
           "        value = int(raw.strip())\n    except ValueError:",
           "        value = int(raw.strip())\n    except ZeroDivisionError:",
           H + "test_openapi_fuzz.py::test_the_stream_survives_fuzzing_of_its_parameters"),
    Mutant("openapi route", "lattice_rt_core/http/app.py",
           '        Route("/realtime/openapi.json", openapi, methods=["GET"]),', "",
           H + "test_openapi_fuzz.py::test_the_served_document_is_the_module_one"),
    Mutant("log redaction", "lattice_rt_core/server.py",
           "        self._install_redactor()\n", "",
           H + "test_log_redaction.py::test_a_launch_code_login_leaves_no_secret_in_the_logs"),
    Mutant("frame escapes", "lattice_rt_core/protocol/events.py",
           "    return _UNSAFE.sub(_escape, text)", "    return text",
           H + "test_properties.py::test_one_event_in_is_one_frame_out_with_the_same_data"),
    Mutant("line separator escape", "lattice_rt_core/protocol/events.py",
           '_UNSAFE = re.compile("[\\u2028\\u2029\\x85\\ud800-\\udfff]")',
           '_UNSAFE = re.compile("[\\ud800-\\udfff]")',
           H + "test_properties.py::test_one_event_in_is_one_frame_out_with_the_same_data"),
    Mutant("huge ints", "lattice_rt_core/protocol/events.py",
           '            return f"<int of {value.bit_length()} bits>"', "            return value",
           H + "test_properties.py::test_one_event_in_is_one_frame_out_with_the_same_data"),
    Mutant("sse field check", "lattice_rt_core/protocol/sse.py",
           '    if "\\n" in text or "\\r" in text or "\\x00" in text:', "    if False:",
           H + "test_properties.py::test_the_encoders_refuse_to_split_a_field"),
    Mutant("write timeout", "lattice_rt_core/http/app.py",
           "            tasks.append(asyncio.ensure_future(stream.watchdog()))\n",
           "",
           H + "test_peers.py::test_a_reader_that_stops_is_cut_off_and_does_not_hold_back_others"),
    Mutant("stalled write uncancel", "lattice_rt_core/http/stream.py",
           "                task.uncancel()", "                pass",
           CH + "test_stream_route.py::"
               "test_a_peer_that_stops_reading_is_dropped_and_the_task_is_not_left_cancelled"),
    Mutant("chunk byte bound", "lattice_rt_core/engines/fanout.py",
           "        while seq <= hi and frames < max_frames and size < max_bytes:",
           "        while seq <= hi and frames < max_frames:",
           H + "test_peers.py::test_a_reader_that_stops_is_cut_off_and_does_not_hold_back_others"),
    Mutant("tcp options", "lattice_rt_core/process/listen.py",
           "        _detect_dead_peers(sock, heartbeat)\n", "",
           H + "test_peers.py::test_accepted_connections_carry_keepalive_and_a_user_timeout"),
    Mutant("tcp user timeout", "lattice_rt_core/process/listen.py",
           '        (socket.IPPROTO_TCP, getattr(socket, "TCP_USER_TIMEOUT", None), '
           "int(heartbeat * 2000)),\n",
           "",
           H + "test_peers.py::test_a_vanished_network_drops_the_stream_within_two_heartbeats"),
    Mutant("presence stream hold", "lattice_rt_core/engines/presence.py",
           "            elif now - entry.proven_at > self.stream_hold:",
           "            elif False:",
           H + "test_peers.py::test_a_sigstopped_client_process_loses_its_presence"),
    Mutant("disconnect watcher", "lattice_rt_core/http/stream.py",
           "        watcher.add_done_callback(lambda _: sub.close())\n", "",
           H + "test_peers.py::test_flapping_clients_leave_nothing_behind"),
    Mutant("answered once durable", "lattice_rt_core/engines/local/engine.py",
           '        waiter = self.bus.durable(published[-1]["seq"])', "        waiter = None",
           H + "test_restarts.py::test_a_publish_is_answered_only_once_durable"),
    Mutant("visible once durable", "lattice_rt_core/engines/local/bus.py",
           "                elif rows:\n                    self._visible = rows[-1][0]\n",
           "                if rows:\n                    self._visible = rows[-1][0]\n",
           H + "test_restarts.py::test_an_event_is_visible_only_once_durable"),
    Mutant("refused unseen", "lattice_rt_core/engines/local/bus.py",
           "            self._skip([(lo, hi)])\n", "            pass\n",
           C + "engines/local/test_full_disk.py::test_a_refused_publish_is_answered_not_"
               "published_and_never_delivered"),
    Mutant("seq reservation", "lattice_rt_core/engines/local/journal.py",
           "            if reserved > last:  # handed out", "            if False:  # handed out",
           C + "engines/local/test_full_disk.py::test_refused_seqs_are_never_handed_out_"
               "again_after_a_restart"),
    Mutant("commit read back", "lattice_rt_core/engines/local/journal.py",
           "        if error is not None and self._settled(batch, reserve):",
           "        if False:",
           C + "engines/local/test_full_disk.py::test_stored_although_the_commit_reported_"
               "a_failure_is_answered_stored"),
    Mutant("idempotency key", "lattice_rt_core/engines/local/engine.py",
           "            if found is not None:", "            if False:",
           CH + "test_http_api.py::test_an_idempotency_key_retried_returns_the_first_answer_"
                "and_publishes_once"),
    Mutant("idempotency key in redis", "lattice_rt_core/engines/redis/store.py",
           "if stored then return {0, stored} end\n", "",
           CR + "test_redis_log.py::test_an_idempotency_key_publishes_once_on_every_node_and_"
                "expires_after_its_window"),
    Mutant("publish retried", "lattice_rt_core/net/requests.py",
           "                if exc.status != 0:\n                    raise\n",
           "                raise\n",
           C + "test_client.py::test_a_publish_whose_answer_was_lost_is_retried_once_and_"
               "stored_once"),
    Mutant("retention gap", "lattice_rt_core/engines/fanout.py",
           "                parts.append(self._gap(seq, oldest - 1, reason))\n",
           "",
           H + "test_restarts.py::test_a_resume_past_retention_gets_one_gap_and_then_everything_"
               "retained"),
    Mutant("reset when ahead", "lattice_rt_core/engines/local/bus.py",
           "        elif last_event_id > self._seq:", "        elif False:",
           H + "test_restarts.py::test_a_client_ahead_of_a_replaced_data_dir_gets_a_reset_then_"
               "the_new_events"),
    Mutant("one server per data directory", "lattice_rt_core/process/dirlock.py",
           "            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)", "            pass",
           C + "test_server.py::test_a_second_server_on_the_data_dir_is_refused_and_changes_"
               "nothing"),
    Mutant("owner only", "lattice_rt_core/auth/access.py",
           "    if not principal.owner:\n        raise Refusal(403, \"only the owner",
           "    if False:\n        raise Refusal(403, \"only the owner",
           H + "test_owner_routes.py::test_every_owner_route_refuses_a_user_token"),
    Mutant("owner routes take no session", "lattice_rt_core/http/owner.py",
           "        check_owner(await authenticated(self.auth, request.headers, session=False))",
           "        check_owner(await authenticated(self.auth, request.headers, session=True))",
           H + "test_owner_routes.py::test_an_owner_browser_session_cannot_administer"),
    Mutant("a link from elsewhere asks first", "lattice_rt_core/http/page.py",
           '        if request.headers.get("sec-fetch-site") in _OWN_NAVIGATION:',
           "        if True:",
           CH + "test_page.py::test_a_link_not_opened_by_the_browser_itself_asks_first"),
    Mutant("confirm only from this origin", "lattice_rt_core/http/page.py",
           '        if "origin" not in request.headers or request.headers.get(',
           "        if False and request.headers.get(",
           CH + "test_page.py::test_a_link_not_opened_by_the_browser_itself_asks_first"),
    Mutant("hsts over tls", "lattice_rt_core/http/app.py",
           "    guarded = StrictTransport(\n        HostOriginGuard(",
           "    guarded = (\n        HostOriginGuard(",
           "tests/e2e/test_activity_https.py::"
           "test_over_tls_every_answer_has_hsts_and_no_cookie_lacks_secure"),
    Mutant("existing user kept", "lattice_rt_core/auth/accounts.py",
           "            if self._exists(name):\n                raise UserExists",
           "            if False:\n                raise UserExists",
           C + "auth/test_accounts.py::test_add_user_refuses_an_existing_name_and_keeps_its_token"),
    Mutant("loopback origin scheme", "lattice_rt_core/http/guard.py",
           '        return bool(scheme == scope.get("scheme", "http"))', "        return True",
           H + "test_access.py::test_every_route_refuses_a_foreign_origin_and_never_grants_cors"),
    Mutant("certificates verified", "lattice_rt_core/net/requests.py",
           "                self._verify = client_context(ca_file)",
           '                self._verify = __import__("ssl")._create_unverified_context()',
           C + "net/test_tls.py::test_an_unknown_ca_is_one_line_on_requests_and_on_the_stream"),
    Mutant("redis hole filled first", "lattice_rt_core/engines/redis/log.py",
           "            await self.fill(min(self._pending) - 1)", "            pass",
           CR + "test_redis_log.py::test_a_jump_is_filled_from_the_stream_before_anything_past_it"),
    Mutant("redis refill on subscribe", "lattice_rt_core/engines/redis/log.py",
           "                await self.sync()  # everything before the subscription",
           "                pass  # everything before the subscription",
           CR + "test_redis_log.py::test_a_dropped_subscription_is_refilled"),
    Mutant("redis epoch reset", "lattice_rt_core/engines/redis/log.py",
           '                fanout._reset_all("epoch", current.first - 1)', "                pass",
           CR + "test_redis_log.py::test_a_flushed_redis_starts_a_new_epoch_above_every_seen_"
               "seq_and_resets_streams"),
    Mutant("redis password hidden", "lattice_rt_core/engines/redis/engine.py",
           '        raise Unavailable(f"cannot reach Redis at {safe_url(url)}: {exc}") from None\n'
           "    finally:\n        client.close()\n    if",
           '        raise Unavailable(f"cannot reach Redis at {url}: {exc}") from None\n'
           "    finally:\n        client.close()\n    if",
           C + "test_cli_redis.py::test_an_unreachable_redis_is_one_line_without_the_password"),
    Mutant("read-only data dir", "lattice_rt_core/server.py",
           "        self.read_only = not writable(data_dir)", "        self.read_only = False",
           H + "test_restarts.py::test_serve_on_a_read_only_data_dir_warns_and_serves"),
    Mutant("damaged database check", "lattice_rt_core/process/local_storage.py",
           "        journal.check()", "        pass",
           H + "test_restarts.py::test_a_damaged_database_is_moved_aside_and_a_new_one_started"),
    Mutant("unwritable database message", "lattice_rt_core/server.py",
           "        except JournalError as exc:  # loading it failed",
           "        except ZeroDivisionError as exc:  # loading it failed",
           H + "test_restarts.py::test_a_database_that_cannot_be_written_is_left_alone_with_a_"
               "one_line_reason"),
]


def run(mutant: Mutant, workdir: Path) -> bool:
    """True when the test failed, i.e. the mutant was killed."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir()
    for name in ("lattice_rt_core", "app", "tests", "bench", "resources", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, workdir / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, workdir / name)
    target = workdir / mutant.path
    text = target.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.name}: the text to mutate is not found exactly once "
                         f"in {mutant.path}; update mutants.py")
    target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", mutant.test],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )
    return result.returncode != 0


def main(words: list[str]) -> int:
    chosen = [m for m in MUTANTS if not words or any(w in m.name for w in words)]
    survived = []
    with tempfile.TemporaryDirectory(prefix="lrt-mutants-") as tmp:
        for mutant in chosen:
            killed = run(mutant, Path(tmp) / "tree")
            print(f"{'killed  ' if killed else 'SURVIVED'}  {mutant.name}", flush=True)
            if not killed:
                survived.append(mutant.name)
    print(f"{len(chosen) - len(survived)}/{len(chosen)} mutants killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
