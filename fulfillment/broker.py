"""The embedded station's Celery broker: kombu's file-system transport, made safe to share.

kombu's transport writes a message by opening its final file name and then writing into it, and a
reader takes the first file it lists without the writer's lock, so a worker can read a message
that is still empty or half written; the JSONDecodeError that follows is "unrecoverable" and the
worker exits (kombu issue #1551, still open; the upstream thread-safety fix was reverted). Here:

- a message is written under a temporary name the readers ignore, flushed, and renamed into
  place: a reader sees a whole message or none (rename is atomic within one folder);
- a message file that still cannot be read (corrupted on disk, written by an older writer) is
  logged, set aside in `<processed_folder>/unreadable/` and skipped; the next message is served;
- a publish never finds its queue's binding missing: kombu records a binding in state shared by
  the process's connections before writing it to the exchange's table file, so a second thread's
  connection published into a table not yet written and the message was dropped (the first steps a
  freshly started web sent could vanish); each connection's bind now makes sure the file has it;
- an exchange's table (its queue bindings, which every publish reads to route the message) is
  written whole under a temporary name and renamed into place, under a lock file: kombu creates it
  by truncating and then writing, so a publisher racing a process that declares the same queue
  read an empty table and dropped its message silently (seen under load, losing the first steps
  sent); a table still caught mid-write (written by an older writer) is read again;
- the folders are created when missing.

Selected in settings (CELERY_BROKER_TRANSPORT) whenever the broker URL is `filesystem://`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

#: Suffix of a message still being written: `_get` only takes names ending in `.<queue>.msg`.
WRITING_SUFFIX = ".writing"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Write the message under a temporary name, then rename it into the queue."""
        # Same name scheme as kombu (ordered by time), so messages keep their order.
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / name
        writing = folder / (name + WRITING_SUFFIX)
        try:
            with open(writing, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            # Other processes see the whole file once it is renamed; no fsync: a message lost to a
            # power cut is re-sent by the reconciler, and a torn one is set aside by `_get`.
            os.replace(writing, final)
        except OSError as exc:
            try:
                writing.unlink(missing_ok=True)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {str(final)!r} to directory") from exc

    def _get(self, queue):
        """The next readable message of `queue`; unreadable ones are set aside, never fatal."""
        suffix = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != suffix:
                continue
            # Claim the file by moving it out of the queue: only one consumer wins the rename.
            processed = Path(self.processed_folder if self.store_processed else tempfile.gettempdir())
            claimed = processed / name
            try:
                shutil.move(str(folder / name), str(claimed))
            except OSError:
                continue  # another consumer took it
            try:
                payload = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
                if not isinstance(message, dict):
                    raise TypeError("not a message object")
            except (ValueError, TypeError, UnicodeDecodeError) as exc:
                self._set_aside(claimed, len(payload), exc)
                continue
            if not self.store_processed:
                claimed.unlink(missing_ok=True)
            return message
        raise filesystem.Empty()

    def _set_aside(self, path: Path, size: int, exc: Exception) -> None:
        aside = Path(self.processed_folder) / "unreadable"
        try:
            aside.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), str(aside / path.name))
            where = aside / path.name
        except OSError:
            path.unlink(missing_ok=True)
            where = "(deleted)"
        logger.error("Skipped an unreadable broker message (%s bytes, %s): %s; kept at %s",
                     size, type(exc).__name__, exc, where)

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        # kombu keeps its bindings in state shared by every connection of the process and records a
        # binding there before writing the table file: a second connection (another thread) then skips
        # the bind, publishes before that write, finds no table and drops its message silently. Each
        # connection makes sure the file has the binding before it returns.
        exchange = exchange or "amq.direct"
        self._queue_bind(exchange, *self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments))

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: table if binding in table else [binding, *table])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        # The virtual channel's own bookkeeping, then the table (kombu's rewrites it in place).
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: [row for row in table if row != binding])

    def _change_table(self, exchange, change) -> None:
        """Read, change and replace an exchange's table whole, one process at a time (a lock file
        beside it: the table itself is replaced, so it cannot carry the lock)."""
        file = self._exchange_file(exchange)
        file.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(file.with_name(file.name + ".lock"), "a") as guard:
                filesystem.lock(guard, filesystem.LOCK_EX)
                try:
                    try:
                        table = [filesystem.exchange_queue_t(*row) for row in loads(file.read_text())]
                    except FileNotFoundError:
                        table = []
                    except ValueError:
                        logger.error("Exchange table %r was unreadable; writing it anew", exchange)
                        table = []
                    changed = change(table)
                    if changed != table or not file.exists():
                        writing = file.with_name(file.name + WRITING_SUFFIX)
                        writing.write_text(dumps(changed))
                        os.replace(writing, file)
                finally:
                    filesystem.unlock(guard)
        except OSError as exc:
            raise ChannelError(f"Cannot write {file}") from exc

    def get_table(self, exchange):
        # Tables are replaced whole (_change_table); one an older writer left half written is read again.
        for attempt in range(5):
            try:
                return super().get_table(exchange)
            except ValueError:
                time.sleep(0.02 * (attempt + 1))
        logger.error("Exchange table %r is unreadable; treating it as empty", exchange)
        return []

    @cached_property
    def data_folder_in(self):
        return self._folder("data_folder_in", "data_in")

    @cached_property
    def data_folder_out(self):
        return self._folder("data_folder_out", "data_out")

    @cached_property
    def processed_folder(self):
        return self._folder("processed_folder", "processed")

    def _folder(self, option: str, default: str) -> str:
        path = self.transport_options.get(option, default)
        os.makedirs(path, exist_ok=True)
        return path


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self):
        return {}  # a folder, not a host: no "No hostname was supplied" warning at start-up
