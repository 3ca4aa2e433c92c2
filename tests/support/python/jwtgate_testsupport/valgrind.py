"""Which valgrind (memcheck) reports are ours to fix: every error, and the
definite leaks with a frame outside nginx and the system libraries."""
import re


def blocks(text):
    """Splits a valgrind log (`==PID== ` prefixed lines) into its reports."""
    block = []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip():
            block.append(body)
        elif block:
            yield block
            block = []
    if block:
        yield block


# nginx does not free a few allocations that live as long as a process
# (its copy of the environment, a worker's event list when it exits); its
# binary is stripped, so every frame of those reads "(in /usr/sbin/nginx)".
# A leak whose frames all lie in nginx, libc or the loader is nginx's own;
# one with any frame in the module or libjwtgate (which have symbols and
# line numbers) is ours.
_SYSTEM_FRAME = re.compile(r"\(in (/usr/sbin/nginx|/usr/libexec/valgrind/\S+|/usr/lib/[\w-]+/"
                           r"(libc\.so\.6|ld-linux-[\w-]+\.so\.2|faketime/libfaketime\.so\.1))\)$")


def is_nginx_own(block):
    if "definitely lost" not in block[0]:
        return False
    frames = [line for line in block[1:] if re.match(r"\s+(at|by) 0x", line)]
    return bool(frames) and all(_SYSTEM_FRAME.search(frame) for frame in frames)


def ours(text):
    """The reports of one valgrind log that are not nginx's own."""
    return [block for block in blocks(text) if not is_nginx_own(block)]
