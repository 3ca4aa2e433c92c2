"""The start of an nginx config whose every file lives in one prefix
folder, and making that folder readable by the workers (an unprivileged
user when the master runs as root)."""
import os

from .paths import ROOT

# The dynamic modules of Debian's libnginx-mod-http-lua, and lua-resty-jwtgate.
LUA_MODULES = ("/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so")
LUA_LIB = os.path.join(ROOT, "bindings-lua", "lib")


def preamble(d, modules, workers=1, log_level="info", connections=128, main=""):
    """The config up to the inside of the http block: `modules` loaded,
    `main` (more main-context directives), the error log and pid in `d`,
    and the http block opened with its temp paths in `d`. The caller adds
    its http directives and servers, then closes the block."""
    loads = "".join(f"load_module {m};\n" for m in modules)
    return f"""
{loads}{main}worker_processes {workers};
error_log {d}/error.log {log_level};
pid {d}/nginx.pid;
events {{ worker_connections {connections}; }}
http {{
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
"""


def static_site(d):
    """`d`/www with a 3-byte file, ok.txt, for a location nginx serves
    itself (`alias`); returns the folder."""
    www = os.path.join(d, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "ok.txt"), "w") as f:
        f.write("ok\n")
    return www


def open_to_workers(d, private=(".pem", ".secret")):
    """Folders under `d` 0755, files 0644, except files whose names end
    with one of `private` (left as they are)."""
    for root, dirs, files in os.walk(d):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
        for x in files:
            if not x.endswith(tuple(private)):
                os.chmod(os.path.join(root, x), 0o644)
