#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-ipc (tests/fuzz/corpus/ipc/) from the frame format of
docs/ipc.md, independently of the C encoder: well-formed frames of every type, streams of
several, and the malformed cases the decoder must refuse. Run from anywhere; it overwrites."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "ipc")
T = dict(HELLO=1, JOB=2, RESULT=3, LOAD=4, UNLOAD=5, PING=6, PONG=7, RECALL=8, RECALLED=9,
         STOP=10, QUIT=11, RETIRE=12, FATAL=13)
TAG = dict(VERSION=1, PID=2, UID=3, FLAGS=4, SHA256=5, TYPE=6, STEP_ID=7, CONFIG=8,
           SECURE_CONFIG=9, MAX_TRACE=10, OPERATION=11, MESSAGE_NAME=12, ENTITY=13, ENTITY_ID=14,
           DATA=15, DEPTH=16, CORRELATION_ID=17, REQUEST_ID=18, OWNER=19, CREATED_ON=20,
           ATTEMPT=21, PLUGIN_TYPE=22, RESULT=23, DELAY_MS=24, ERROR_CODE=25, MESSAGE=26,
           TRACE=27, OUTPUT=28, RAISED=29, STARTED_ON=30, EXEC_MS=31, TEXT=32, OOM=33)
SHA = "9b758e1527f03401026750c45a5da08c06cd48a78a270681568e42af8db8bd3b"


def i64(tag, v):
    return struct.pack("<HIq", TAG[tag], 8, v)


def s(tag, text):
    b = text.encode() + b"\0"
    return struct.pack("<HI", TAG[tag], len(b)) + b


def frame(kind, ident=0, body=b"", version=1, flags=0, length=None):
    n = len(body) if length is None else length
    return struct.pack("<IBBHQ", n, version, T[kind], flags, ident) + body


JOB = (s("SHA256", SHA) + s("TYPE", "noop") + i64("STEP_ID", 3) + s("CONFIG", "{}") +
       i64("MAX_TRACE", 65536) + i64("OPERATION", 1) + s("MESSAGE_NAME", "Create") +
       s("ENTITY", "account") + s("ENTITY_ID", "42") + s("PLUGIN_TYPE", "samples.noop") +
       s("DATA", '{"target":{"name":"x"}}') + i64("DEPTH", 1) +
       s("CORRELATION_ID", "0b6e3e1c-4c52-4cf4-9d0e-3e4f0f3a6a11") + s("OWNER", "admin") +
       i64("CREATED_ON", 1764000000000) + i64("ATTEMPT", 1))
RESULT = (i64("RESULT", 0) + i64("DELAY_MS", -1) + s("MESSAGE", "nothing to do") +
          s("TRACE", "input: {}\noutput: hello\n") + s("OUTPUT", '{"a":1}') +
          s("RAISED", '[{"message":"Update","entity":"account","entity_id":"1"}]') +
          i64("STARTED_ON", 1764000000000) + i64("EXEC_MS", 3))
FAILED = (i64("RESULT", 1) + i64("DELAY_MS", -1) + s("ERROR_CODE", "out_of_memory") +
          s("MESSAGE", "the plug-in ran out of memory") + i64("OOM", 1))
HELLO = i64("VERSION", 1) + i64("PID", 1234) + i64("UID", 65534) + i64("FLAGS", 15)

SEEDS = {
    "hello": frame("HELLO", 0, HELLO),
    "job": frame("JOB", 7, JOB),
    "result-success": frame("RESULT", 7, RESULT),
    "result-oom": frame("RESULT", 8, FAILED),
    "load": frame("LOAD", 0, s("SHA256", SHA)),
    "small-frames": b"".join(frame(k, 5) for k in
                             ("PING", "PONG", "RECALL", "RECALLED", "STOP", "QUIT", "RETIRE")),
    "fatal": frame("FATAL", 0, s("TEXT", "cannot run as sandbox.user nobody: no such user")),
    "stream": frame("HELLO", 0, HELLO) + frame("JOB", 7, JOB) + frame("RESULT", 7, RESULT) +
              frame("PING", 1) + frame("UNLOAD", 0, s("SHA256", SHA)),
    "unknown-tag": frame("RESULT", 9, RESULT + struct.pack("<HI", 999, 3) + b"abc"),
    # refused: each must stop the stream without harm
    "bad-version": frame("JOB", 7, JOB, version=2),
    "bad-type": frame("HELLO", 0, HELLO)[:5] + bytes([99]) + frame("HELLO", 0, HELLO)[6:],
    "bad-flags": frame("PING", 1, flags=1),
    "too-long": frame("JOB", 7, JOB, length=0xFFFFFFF0),
    "field-past-end": frame("RESULT", 7, struct.pack("<HI", TAG["MESSAGE"], 100) + b"short\0"),
    "int-wrong-size": frame("RESULT", 7, struct.pack("<HI", TAG["RESULT"], 4) + b"\0\0\0\0"),
    "str-no-nul": frame("RESULT", 7, i64("RESULT", 0) +
                        struct.pack("<HI", TAG["MESSAGE"], 3) + b"abc"),
    "str-inner-nul": frame("RESULT", 7, i64("RESULT", 0) +
                           struct.pack("<HI", TAG["MESSAGE"], 4) + b"a\0b\0"),
    "duplicate-tag": frame("RESULT", 7, RESULT + i64("RESULT", 1)),
    "result-bad-code": frame("RESULT", 7, i64("RESULT", 1) + s("ERROR_CODE", "no_such_code")),
    "result-out-of-range": frame("RESULT", 7, i64("RESULT", 9)),
    "job-bad-sha": frame("JOB", 7, JOB.replace(SHA.encode(), b"X" * 64)),
    "job-id-zero": frame("JOB", 0, JOB),
    "truncated": frame("JOB", 7, JOB)[:40],
    "invalid-utf8-trace": frame("RESULT", 7, i64("RESULT", 0) + struct.pack("<HI", TAG["TRACE"], 6)
                                + b"\xff\xfe\xc3(\n\0"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} inputs in {OUT}")


if __name__ == "__main__":
    main()
