"""The embedded station's broker (kombu's file-system transport, fulfillment/broker.py): a broken or
half-written message never kills the worker, and a reader never sees a message being written."""

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from kombu import Connection

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


def _folders(var: Path) -> dict:
    # The same options settings.py gives the embedded station, under a test's own folder.
    return {
        "data_folder_in": str(var / "broker"),
        "data_folder_out": str(var / "broker"),
        "processed_folder": str(var / "broker-processed"),
        "control_folder": str(var / "broker-control"),
        "store_processed": False,
    }


def test_the_embedded_station_uses_the_safe_transport(settings):
    from fulfillment import broker

    # settings.py picks it whenever the broker is the file system (the test run itself uses Redis).
    env = {**os.environ, "REDIS_URL": "", "PACKBENCH_ENV": "test"}
    env.pop("CELERY_BROKER_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", ("import django; django.setup(); from fulfillment.celery import app; "
                                "print(type(app.connection_for_write().transport).__module__)")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout
    assert out.strip().splitlines()[-1] == broker.__name__


def test_a_reader_never_sees_a_message_half_written(tmp_path):
    """Writers put big messages while a reader polls: every message read is whole, none is lost."""
    options = _folders(tmp_path)
    body = "x" * 300_000
    sent = 120
    received, problems = [], []

    def write():
        with Connection("filesystem://", transport="fulfillment.broker:Transport", transport_options=options) as conn:
            queue = conn.SimpleQueue("atomic")
            for i in range(sent):
                queue.put({"i": i, "body": body})

    def read():
        with Connection("filesystem://", transport="fulfillment.broker:Transport", transport_options=options) as conn:
            queue = conn.SimpleQueue("atomic")
            deadline = time.monotonic() + 60
            while len(received) < sent and time.monotonic() < deadline:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                if message.payload.get("body") != body:
                    problems.append(message.payload.get("i"))
                received.append(message.payload["i"])
                message.ack()

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert problems == []
    assert sorted(received) == list(range(sent))
    assert not list((tmp_path / "broker-processed" / "unreadable").glob("*"))  # nothing was torn


def test_a_second_connection_of_the_process_never_publishes_into_a_missing_table(tmp_path):
    """kombu's bindings are shared by the process's connections and recorded before the table file is
    written: a second thread's connection skipped its bind and, publishing before the first had
    written the file, dropped its message (the first message of the half-written test went missing
    under load). Here the first connection's file is not there yet when the second publishes."""
    options = _folders(tmp_path)
    with Connection("filesystem://", transport="fulfillment.broker:Transport", transport_options=options) as first:
        reader = first.SimpleQueue("steps")
        table = Path(options["control_folder"]) / "steps.exchange"
        table.unlink()  # as if the first connection had not written it yet
        with Connection("filesystem://", transport="fulfillment.broker:Transport", transport_options=options) as second:
            second.SimpleQueue("steps").put({"n": 1})
        assert reader.get(timeout=2).payload == {"n": 1}
        assert table.exists()


def test_a_publisher_never_finds_the_exchange_table_empty_while_a_queue_is_declared(tmp_path, monkeypatch):
    """kombu created an exchange's table by truncating the file, then writing it: a publisher reading
    it in between found no binding and dropped its message (seen under load: the first steps sent by a
    freshly started station were lost). The table is replaced whole: read at the very moment a second
    queue is being bound, it is the table from before, and a message published then is delivered."""
    from kombu import Exchange, Queue

    from fulfillment import broker

    options = _folders(tmp_path)
    exchange = Exchange("shared", type="direct")
    seen_while_binding = []
    real_replace = broker.os.replace

    with Connection("filesystem://", transport="fulfillment.broker:Transport", transport_options=options) as conn:
        first = conn.SimpleQueue(Queue("first", exchange, routing_key="first"))
        channel = first.channel

        def replace_after_a_publish(src, dst):
            if str(dst).endswith(".exchange"):  # a bind is writing the table: publish right now
                seen_while_binding.append(list(channel.get_table("shared")))
                conn.Producer().publish({"n": 1}, exchange=exchange, routing_key="first", declare=[])
            return real_replace(src, dst)

        monkeypatch.setattr(broker.os, "replace", replace_after_a_publish)
        conn.SimpleQueue(Queue("second", exchange, routing_key="second"))
        monkeypatch.setattr(broker.os, "replace", real_replace)

        assert [[row.queue for row in table] for table in seen_while_binding] == [["first"]]
        assert first.get(timeout=2).payload == {"n": 1}
        assert sorted(row.queue for row in channel.get_table("shared")) == ["first", "second"]


def test_a_worker_fed_an_empty_message_keeps_running_and_serves_the_next(tmp_path):
    var = tmp_path / "var"
    options = _folders(var)
    broker = Path(options["data_folder_in"])
    broker.mkdir(parents=True)
    # What a reader can find when a writer was interrupted, or has not written yet: an empty file,
    # and a half-written one. Both sort before anything sent later.
    (broker / f"0_{uuid.uuid4()}.celery.msg").write_bytes(b"")
    (broker / f"1_{uuid.uuid4()}.celery.msg").write_bytes(b'{"body": "eyJ0YXNrIjogIm')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_"))},
        "PACKBENCH_ENV": "test",
        "PACKBENCH_VAR_DIR": str(var),
        "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'station.sqlite3'}",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fulfillment", "worker", "--loglevel", "INFO", "--concurrency", "1",
             "--without-gossip", "--without-mingle", "--hostname", f"empty-msg-{uuid.uuid4().hex[:6]}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while "ready." not in log_path.read_text(errors="replace"):
                assert worker.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.2)
            time.sleep(1.5)  # a few polls of the folder: the broken files are read by now
            assert worker.poll() is None, log_path.read_text(errors="replace")

            producer = Celery(broker="filesystem://", broker_transport="fulfillment.broker:Transport",
                              broker_transport_options=options)
            result = producer.send_task("celery.accumulate", args=(42,))
            deadline = time.monotonic() + 60
            pattern = re.compile(rf"Task celery\.accumulate\[{result.id}\] succeeded")
            while not pattern.search(log_path.read_text(errors="replace")):
                assert worker.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.2)
        finally:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    text = log_path.read_text(errors="replace")
    assert "Unrecoverable error" not in text
    assert text.count("Skipped an unreadable broker message") == 2
    kept = sorted(p.name for p in (var / "broker-processed" / "unreadable").iterdir())
    assert len(kept) == 2 and kept[0].startswith("0_") and kept[1].startswith("1_")
