"""Linux bundle slimming on real ELF files compiled here: stubs, unreferenced-library pruning, symlinks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not all(shutil.which(t) for t in ("cc", "nm", "readelf", "strip")),
    reason="needs Linux binutils and a C compiler",
)


def compile_library(folder: Path, soname: str, source: str, links: list[Path] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{soname}.c"
    src.write_text(source, encoding="utf-8")
    target = folder / soname
    args = ["cc", "-shared", "-fPIC", "-o", str(target), str(src), f"-Wl,-soname,{soname}"]
    for lib in links:
        args += [str(lib), f"-Wl,-rpath,{lib.parent}"]
    subprocess.run(args, check=True)
    return target


def test_version_script_keeps_version_nodes_and_hides_the_rest(slim_linux):
    script = slim_linux.version_script({"av_a": "LIBAV_1", "av_b": "LIBAV_1", "sws_c": "LIBSWS_2", "plain": None})
    assert script == "LIBAV_1 { global: av_a; av_b; plain; };\nLIBSWS_2 { global: sws_c; local: *; };\n"
    assert slim_linux.version_script({"dgesv_": None}) == "{ global: dgesv_; local: *; };\n"


def test_stub_exports_what_the_user_imports_and_aborts_loudly(slim_linux, tmp_path):
    real = tmp_path / "real"
    (real / "v.map").parent.mkdir(parents=True)
    (real / "v.map").write_text("LIBDEMO_1 { global: demo_used; demo_unused; local: *; };\n", encoding="utf-8")
    lib = real / "libdemo.so.1"
    (real / "demo.c").write_text("int demo_used(void){return 1;} int demo_unused(void){return 2;}\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(real / "demo.c"), "-Wl,-soname,libdemo.so.1",
                    f"-Wl,--version-script={real / 'v.map'}"], check=True)
    user = compile_library(tmp_path / "user", "libuser.so", "int demo_used(void); int f(void){return demo_used();}",
                           [lib])

    symbols = slim_linux.imported_from(user, lib)
    assert symbols == {"demo_used": "LIBDEMO_1"}
    stub = slim_linux.build_stub("libdemo.so.1", symbols, tmp_path / "stubs")
    exported = subprocess.run(["nm", "-D", "--defined-only", str(stub)], capture_output=True, text=True).stdout
    assert "demo_used@@LIBDEMO_1" in exported and "demo_unused" not in exported

    # The user library loads against the stub (soname and version satisfied) ...
    shutil.copy(stub, real / "libdemo.so.1")
    code = f"import ctypes; u = ctypes.CDLL({str(user)!r}); print('loaded', flush=True); u.f()"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "loaded"
    # ... and calling into it aborts with the symbol's name instead of computing garbage.
    assert run.returncode != 0
    assert "demo_used" in run.stderr and "leaves out" in run.stderr


def test_unreferenced_libraries_and_their_symlinks_are_dropped(slim_linux, tmp_path):
    libs = tmp_path / "pkg.libs"
    dep = compile_library(libs, "libdep.so.1", "int dep(void){return 3;}")
    mid = compile_library(libs, "libmid.so.1", "int dep(void); int mid(void){return dep();}", [dep])
    orphan = compile_library(libs, "liborphan.so.1", "int orphan(void){return 4;}")
    ext = compile_library(tmp_path / "pkg", "ext.cpython-311-x86_64-linux-gnu.so",
                          "int mid(void); int PyInit_ext(void){return mid();}", [mid])
    plugin = compile_library(tmp_path / "plugins", "libplugin.so", "int plugin(void){return 5;}")
    binaries = [
        ("pkg/ext.cpython-311-x86_64-linux-gnu.so", str(ext), "EXTENSION"),
        ("pkg.libs/libmid.so.1", str(mid), "BINARY"),
        ("pkg.libs/libdep.so.1", str(dep), "BINARY"),
        ("pkg.libs/liborphan.so.1", str(orphan), "BINARY"),
        ("PySide6/Qt/plugins/generic/libplugin.so", str(plugin), "BINARY"),  # loaded by name: always kept
    ]
    datas = [
        ("libdep.so.1", "pkg.libs/libdep.so.1", "SYMLINK"),
        ("liborphan.so.1", "pkg.libs/liborphan.so.1", "SYMLINK"),
        ("resources/icons/x.svg", "/src/x.svg", "DATA"),
    ]
    kept, kept_datas, log = slim_linux.drop_unreferenced(binaries, datas)
    assert [d for d, _, _ in kept] == [d for d, _, _ in binaries if "orphan" not in d]
    assert kept_datas == [datas[0], datas[2]]
    assert log == ["slim: liborphan.so.1 is linked by nothing kept, left out"]


def test_strip_works_on_copies_and_spares_vendored_libraries(slim_linux, tmp_path):
    own = compile_library(tmp_path / "src", "libown.so", "int own(void){return 1;}")
    vendored = compile_library(tmp_path / "src2", "libvendored.so", "int v(void){return 2;}")
    before = own.read_bytes()
    binaries = [("libown.so", str(own), "BINARY"), ("x.libs/libvendored.so", str(vendored), "BINARY")]
    result, log = slim_linux.strip_copies(binaries, tmp_path / "stripped")
    assert own.read_bytes() == before  # the venv's file is never touched
    assert result[0][1] == str(tmp_path / "stripped" / "libown.so")
    assert Path(result[0][1]).stat().st_size < own.stat().st_size
    assert result[1] == binaries[1]
    assert log[0].startswith("slim: stripped 1 libraries")


def _opencv_with_stubs(slim_linux, folder: Path) -> Path:
    """A copy of the installed cv2 whose FFmpeg/OpenBLAS are the bundle's stubs (cv2 finds its libraries
    through RPATH $ORIGIN/../opencv_[contrib_]python_headless.libs, so the copy loads the copied folder)."""
    import cv2

    package = Path(cv2.__file__).resolve().parent
    libs = next((package.parent / f"opencv_{kind}python_headless.libs" for kind in ("contrib_", "")
                 if (package.parent / f"opencv_{kind}python_headless.libs").is_dir()), None)
    extension = next(package.glob("cv2*.so"), None)
    if extension is None or libs is None:
        pytest.skip("not a manylinux opencv(-contrib)-python-headless install")
    toc = [("cv2/" + extension.name, str(extension), "EXTENSION")]
    toc += [(f"{libs.name}/{lib.name}", str(lib), "BINARY") for lib in sorted(libs.iterdir())]
    stubbed, log = slim_linux.stub_opencv_extras(toc, folder / "stubs")
    assert len(log) >= 5 and all("-> stub of" in line for line in log)  # avcodec/format/util, swscale, openblas
    shutil.copytree(package, folder / "site" / "cv2", ignore=shutil.ignore_patterns("__pycache__", "cv2*.so"))
    (folder / "site" / libs.name).mkdir()
    for dest, src, _ in stubbed:
        shutil.copy(src, folder / "site" / dest)
    return folder / "site"


def test_the_engine_never_reaches_the_stubbed_opencv_libraries(slim_linux, tmp_path, photo_dir, standin_model):
    """The engine's whole photo path (decode every supported kind, colorize, with colour hints too, encode every
    output format) with cv2 loading the stubs: a future engine change that needs FFmpeg or LAPACK fails here,
    from source."""
    site = _opencv_with_stubs(slim_linux, tmp_path)
    photos = len(list(photo_dir.iterdir()))
    hints = '{"version": 1, "points": [{"x": 0.5, "y": 0.5, "color": "#a4633c"}]}'
    (photo_dir / "grey.png.hints.json").write_text(hints)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{site}:{root}", "OMP_NUM_THREADS": "1"}
    probe = subprocess.run([sys.executable, "-c", "import cv2; print(cv2.__file__)"], env=env, capture_output=True,
                           text=True, check=True)
    assert probe.stdout.strip() == str(site / "cv2" / "__init__.py")
    for fmt in ("jpg", "png", "tiff", "webp"):
        out = tmp_path / f"out-{fmt}"
        run = subprocess.run(
            [sys.executable, "-m", "engine.cli", str(photo_dir), "-o", str(out), "--format", fmt,
             "--model", str(standin_model)],
            env=env, cwd=root, capture_output=True, text=True, timeout=300,
        )
        assert "leaves out" not in run.stderr, run.stderr
        assert run.returncode == 0, run.stderr
        assert len(list(out.iterdir())) == photos
        assert "1 with hints" in run.stdout  # the edge-aware propagation (cv2.ximgproc) ran with the stubs

    # The stubs are really in use: LAPACK through cv2 aborts with the symbol's name.
    svd = "import cv2, numpy as np; cv2.SVDecomp(np.random.rand(200, 200))"
    run = subprocess.run([sys.executable, "-c", svd], env=env, capture_output=True, text=True)
    assert run.returncode != 0 and "from libopenblas" in run.stderr and "leaves out" in run.stderr


def test_vendored_libraries_are_not_stripped_wherever_the_bundle_puts_them(slim_linux, tmp_path):
    hashed = compile_library(tmp_path / "src", "libfoo-1a2b3c4d.so.1", "int foo(void){return 1;}")
    result, _ = slim_linux.strip_copies([("libfoo-1a2b3c4d.so.1", str(hashed), "BINARY")], tmp_path / "out")
    assert result[0][1] == str(hashed)


def test_segment_check_catches_what_strip_does_to_a_patchelf_rewritten_library(slim_linux, tmp_path):
    import numpy

    vendored = sorted((Path(numpy.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*.so*"))
    if not vendored:
        pytest.skip("this numpy vendors no OpenBLAS")
    assert slim_linux.load_segments_aligned(vendored[0])
    copy = tmp_path / vendored[0].name
    shutil.copy(vendored[0], copy)
    subprocess.run(["strip", "--strip-unneeded", str(copy)], check=True)
    if slim_linux.load_segments_aligned(copy):
        pytest.skip("strip handles this numpy's OpenBLAS fine")
    run = subprocess.run([sys.executable, "-c", f"import ctypes; ctypes.CDLL({str(copy)!r})"],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "not page-aligned" in run.stderr  # the check predicts the loader's refusal
