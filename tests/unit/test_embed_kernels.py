#!/usr/bin/env python3
"""embed_kernels.py keeps every byte of a kernel file (quotes, backslashes, trigraph-like
'??', tabs, non-ASCII, a missing final newline) and one literal per source line."""
import os
import subprocess
import sys
import tempfile

TRICKY = (b'// "quoted" \\ backslash ??= trigraph\t tab \xc3\xa9 utf-8\n'
          b"#define X(a) #a\n"
          b"\n"
          b"kernel void f(global float *x) { x[0] = 1.0f; } // no final newline")


def main() -> int:
    embed, cc = sys.argv[1], os.environ.get("CC", "cc")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        cl = os.path.join(tmp, "tricky.cl")
        empty = os.path.join(tmp, "empty.cl")
        with open(cl, "wb") as f:
            f.write(TRICKY)
        open(empty, "wb").close()
        out_c = os.path.join(tmp, "sources.c")
        subprocess.run([sys.executable, embed, out_c, cl, empty], check=True)
        generated = open(out_c).read()
        literal_lines = [l for l in generated.splitlines() if l.startswith('    "')]
        if len(literal_lines) != TRICKY.count(b"\n") + 1 + 1:  # + last line + empty file
            print("FAIL: expected one literal per source line:\n" + generated)
            failures += 1
        header_dir = os.path.join(os.path.dirname(embed), "..")
        main_c = os.path.join(tmp, "main.c")
        with open(main_c, "w") as f:
            f.write('#include <stdio.h>\n#include "runtime/kernel_sources.h"\n'
                    "int main(void) { for (size_t i = 0; i < cls_kernel_source_count; i++)"
                    " fwrite(cls_kernel_sources[i].text, 1, cls_kernel_sources[i].length,"
                    " stdout); return 0; }\n")
        exe = os.path.join(tmp, "dump")
        subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", header_dir,
                        out_c, main_c, "-o", exe], check=True)
        dumped = subprocess.run([exe], check=True, capture_output=True).stdout
        if dumped != TRICKY:
            print("FAIL: embedded bytes differ:\n%r\n%r" % (dumped, TRICKY))
            failures += 1
    print("ok   embed_kernels round trip" if not failures else "FAIL embed_kernels")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
