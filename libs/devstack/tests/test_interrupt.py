import signal
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent('''
    import asyncio, gc, os, signal, sys, time, weakref
    from sangsaeng_devstack.interrupt import run_interruptibly

    class Noise:
        pass

    async def main():
        print("ready", flush=True)
        while True:
            # Plenty of weakref callbacks and collections, where a KeyboardInterrupt raised by a
            # plain signal handler would be "ignored" and the command would run on.
            refs = [weakref.ref(Noise(), lambda r: None) for _ in range(1000)]
            gc.collect()
            await asyncio.sleep(0)

    try:
        run_interruptibly(main())
    except KeyboardInterrupt:
        time.sleep(0.3)  # the cleanup: a repeated signal must not cut it short
        print("cleaned up", flush=True)
        sys.exit(3)
''')


def test_first_signal_cancels_and_repeats_cannot_cut_the_cleanup_short():
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 3 and "cleaned up" in out, (sig, proc.returncode, out)
