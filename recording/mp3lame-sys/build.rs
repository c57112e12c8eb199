//! Builds LAME 3.100's encoder library (`lame-3.100/`) with LAME's own optimisation flags.
//!
//! On x86-64 Linux (glibc) it is built twice, for the x86-64 baseline (SSE2, with LAME's SSE
//! code paths) and for x86-64-v3 (AVX2, FMA), and each public function is an ifunc that the
//! dynamic loader binds once, at start-up, to the copy the CPU can run. Elsewhere one copy is
//! built for the target's baseline.

use std::path::{Path, PathBuf};
use std::process::Command;

const LAME: &str = "lame-3.100";

/// The library's translation units (LAME's libmp3lame without the mpglib decoder).
const SOURCES: &[&str] = &[
    "VbrTag.c",
    "bitstream.c",
    "encoder.c",
    "fft.c",
    "gain_analysis.c",
    "id3tag.c",
    "lame.c",
    "mpglib_interface.c",
    "newmdct.c",
    "presets.c",
    "psymodel.c",
    "quantize.c",
    "quantize_pvt.c",
    "reservoir.c",
    "set_get.c",
    "tables.c",
    "takehiro.c",
    "util.c",
    "vbrquantize.c",
    "version.c",
];

/// One build of the library for one instruction set.
struct Copy {
    /// The suffix its symbols get (`lame_init` becomes `lame_init__<suffix>`).
    suffix: &'static str,
    /// The compiler flags that choose the instruction set.
    flags: &'static [&'static str],
}

const BASELINE: Copy = Copy {
    suffix: "baseline",
    flags: &[],
};
const X86_64_V3: Copy = Copy {
    suffix: "x86_64_v3",
    flags: &["-march=x86-64-v3"],
};

fn main() {
    if std::env::var("DOCS_RS").is_ok_and(|docs| docs == "1") {
        return;
    }
    println!("cargo:rerun-if-changed={LAME}");
    println!("cargo:rerun-if-changed=config");
    if cfg!(feature = "decoder") {
        panic!("mp3lame-sys: this build carries LAME's encoder only (no mpglib decoder)");
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if arch == "x86_64" && os == "linux" && env == "gnu" {
        build_dispatched(&[BASELINE, X86_64_V3]);
    } else {
        let mut build = library(&arch);
        build.files(sources(&arch)).compile("mp3lame");
    }
}

/// The C files of the library for `arch` (the SSE helpers only where SSE exists).
fn sources(arch: &str) -> Vec<PathBuf> {
    let dir = Path::new(LAME).join("libmp3lame");
    let mut files: Vec<PathBuf> = SOURCES.iter().map(|file| dir.join(file)).collect();
    if arch == "x86_64" {
        files.push(dir.join("vector/xmm_quantize_sub.c"));
    }
    files
}

/// The compiler set up as LAME's configure sets it up for GCC (`-O3 -fomit-frame-pointer
/// -ffast-math -funroll-loops`), with the configuration in `config/config.h`.
fn library(arch: &str) -> cc::Build {
    let mut build = cc::Build::new();
    build
        .include("config")
        .include(Path::new(LAME).join("include"))
        .include(Path::new(LAME).join("libmp3lame"))
        .define("HAVE_CONFIG_H", None)
        .opt_level(3)
        .flag("-fomit-frame-pointer")
        .flag("-ffast-math")
        .flag("-funroll-loops")
        .warnings(false);
    if arch == "x86_64" {
        // Every x86-64 CPU has SSE2: LAME then uses its SSE quantisation and FFT code.
        build
            .define("HAVE_XMMINTRIN_H", None)
            .define("MIN_ARCH_SSE", None);
    }
    build
}

/// Builds each copy, renames its symbols with its suffix and links them behind ifuncs that
/// pick a copy by the CPU's features.
fn build_dispatched(copies: &[Copy]) {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut objects = Vec::new();
    let mut functions = Vec::new();
    for copy in copies {
        let mut build = library("x86_64");
        for flag in copy.flags {
            build.flag(flag);
        }
        let parts = build.files(sources("x86_64")).compile_intermediates();
        let object = out.join(format!("lame_{}.o", copy.suffix));
        link_relocatable(&build, &parts, &object);
        let symbols = defined_globals(&object);
        rename(&object, &symbols, copy.suffix);
        if functions.is_empty() {
            functions = symbols
                .iter()
                .filter(|(_, kind)| *kind == 'T')
                .map(|(name, _)| name.clone())
                .collect();
        }
        objects.push(object);
    }
    let dispatch = out.join("dispatch.c");
    std::fs::write(&dispatch, dispatch_source(&functions, copies)).expect("write dispatch.c");
    let mut build = cc::Build::new();
    build.file(&dispatch).include("config").opt_level(2);
    for object in &objects {
        build.object(object);
    }
    build.compile("mp3lame");
}

/// Links a copy's objects into one relocatable object, so that its symbols can be renamed
/// together with every reference to them.
fn link_relocatable(build: &cc::Build, parts: &[PathBuf], object: &Path) {
    let compiler = build.get_compiler();
    run(Command::new(compiler.path())
        .args(["-r", "-nostdlib", "-o"])
        .arg(object)
        .args(parts));
}

/// The global symbols `object` defines, with their `nm` type letter.
fn defined_globals(object: &Path) -> Vec<(String, char)> {
    let listing = run(Command::new(tool("NM", "nm"))
        .args(["--defined-only", "--extern-only", "--format=posix"])
        .arg(object));
    listing
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let kind = fields.next()?.chars().next()?;
            Some((name.to_owned(), kind))
        })
        .collect()
}

/// Gives every global symbol of `object` the suffix `__<suffix>`, so that two copies link
/// side by side.
fn rename(object: &Path, symbols: &[(String, char)], suffix: &str) {
    let map = object.with_extension("map");
    let lines: String = symbols
        .iter()
        .map(|(name, _)| format!("{name} {name}__{suffix}\n"))
        .collect();
    std::fs::write(&map, lines).expect("write the symbol map");
    run(Command::new(tool("OBJCOPY", "objcopy"))
        .arg(format!("--redefine-syms={}", map.display()))
        .arg(object));
}

/// C source of one ifunc per function: the x86-64-v3 copy where the CPU runs it, otherwise
/// the baseline.
fn dispatch_source(functions: &[String], copies: &[Copy]) -> String {
    let [baseline, v3] = copies else {
        panic!("two copies expected");
    };
    let mut source = String::from(include_str!("config/cpu.c"));
    source.push_str("typedef void (*lame_function)(void);\n");
    for function in functions {
        let (base, fast) = (
            format!("{function}__{}", baseline.suffix),
            format!("{function}__{}", v3.suffix),
        );
        source.push_str(&format!(
            "void {base}(void);\nvoid {fast}(void);\n\
             static lame_function {function}__resolve(void) {{\n\
             \treturn mp3lame_sys_has_x86_64_v3() ? {fast} : {base};\n}}\n\
             void {function}(void) __attribute__((ifunc(\"{function}__resolve\")));\n"
        ));
    }
    source
}

/// `name`'s tool from the environment variable `variable`, or `name` on the PATH.
fn tool(variable: &str, name: &str) -> String {
    println!("cargo:rerun-if-env-changed={variable}");
    std::env::var(variable).unwrap_or_else(|_| name.to_owned())
}

/// Runs `command`, panicking with its output unless it succeeds; returns its stdout.
fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}
