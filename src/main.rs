fn main() {
    std::process::exit(pctl::cli::main());
}
