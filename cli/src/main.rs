//! The `meshspec` command line.

fn main() {
    eprintln!("meshspec: the command line is being built");
    std::process::exit(2);
}
