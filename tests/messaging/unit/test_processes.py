"""messaging.processes: one object per process, built once however many threads ask, rebuilt after a fork,
closed on reset."""

import os
import threading

from messaging import processes


class Closable:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Executor:
    def __init__(self) -> None:
        self.shut_down = False

    def shutdown(self, wait: bool = True) -> None:
        self.shut_down = not wait


def teardown_function() -> None:
    processes.reset("test.a", "test.b", "test.executor")


def test_the_factory_runs_once_for_every_thread():
    built = []
    barrier = threading.Barrier(8)
    results = []

    def factory():
        built.append(1)
        return Closable()

    def ask():
        barrier.wait()
        results.append(processes.per_process("test.a", factory))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(result is results[0] for result in results)


def test_a_factory_may_ask_for_another_object():
    outer = processes.per_process("test.a", lambda: (processes.per_process("test.b", Closable), Closable()))
    assert outer[0] is processes.per_process("test.b", Closable)


def test_a_forked_child_builds_afresh_and_leaves_the_parents_objects_open(monkeypatch):
    parent = processes.per_process("test.a", Closable)
    real_pid = os.getpid()
    monkeypatch.setattr("messaging.processes.os.getpid", lambda: real_pid + 1)
    child = processes.per_process("test.a", Closable)
    assert child is not parent
    assert not parent.closed  # its sockets are the parent's: never closed from the child
    assert processes.per_process("test.a", Closable) is child


def test_reset_closes_and_forgets_only_the_named_keys():
    a = processes.per_process("test.a", Closable)
    b = processes.per_process("test.b", Closable)
    executor = processes.per_process("test.executor", Executor)
    processes.reset("test.a", "test.executor", "test.never-built")
    assert a.closed and executor.shut_down and not b.closed
    assert processes.per_process("test.a", Closable) is not a
    assert processes.per_process("test.b", Closable) is b
