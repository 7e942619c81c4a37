#!/usr/bin/env python3
"""A TCP fault proxy for the torture tests: listens on 127.0.0.1:LISTEN and forwards to
127.0.0.1:TARGET, misbehaving on command. Commands arrive one per line on stdin:

  pass        forward bytes both ways (the default)
  drop        close every current connection at once (an RST), keep accepting
  stall       stop forwarding without closing anything: a half-open link (Wi-Fi, NAT timeout);
              new connections are accepted and then hang too
  slice       forward in 1-byte writes
  delay MS    hold each chunk MS milliseconds before forwarding it
  quit        exit

Prints "ready" once listening, and "mode NAME" after each command (tests wait for it).
Usage: faultproxy.py LISTEN TARGET
"""
import asyncio
import sys

mode = "pass"
delay_ms = 0
connections = set()
resumed = asyncio.Event()


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            while mode == "stall":
                resumed.clear()
                await resumed.wait()
            if mode == "delay" and delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
            if mode == "slice":
                for i in range(len(data)):
                    writer.write(data[i:i + 1])
                    await writer.drain()
            else:
                writer.write(data)
                await writer.drain()
    except (ConnectionError, asyncio.CancelledError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(client_reader, client_writer, target):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_writer.close()
        return
    tasks = [asyncio.ensure_future(pump(client_reader, server_writer)),
             asyncio.ensure_future(pump(server_reader, client_writer))]
    entry = (client_writer, server_writer, tuple(tasks))
    connections.add(entry)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        connections.discard(entry)
        for w in (client_writer, server_writer):
            try:
                w.close()
            except Exception:
                pass


def drop_all():
    for client_writer, server_writer, tasks in list(connections):
        for w in (client_writer, server_writer):
            sock = w.get_extra_info("socket")
            try:
                # SO_LINGER 0: the close sends an RST, as a dropped link or a killed NAT entry would.
                import socket
                import struct
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except Exception:
                pass
            try:
                w.close()
            except Exception:
                pass
        for t in tasks:
            t.cancel()
    connections.clear()


async def commands():
    global mode, delay_ms
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        words = line.decode().split()
        if not words:
            continue
        command = words[0]
        if command == "quit":
            return
        if command == "drop":
            drop_all()
        elif command == "delay":
            delay_ms = int(words[1]) if len(words) > 1 else 100
            mode = "delay"
        elif command in ("pass", "stall", "slice"):
            mode = command
        if mode != "stall":
            resumed.set()
        print(f"mode {command}", flush=True)


async def main():
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    server = await asyncio.start_server(lambda r, w: handle(r, w, target), "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await commands()
    drop_all()


if __name__ == "__main__":
    asyncio.run(main())
