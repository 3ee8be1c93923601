fn main() {
    println!("sockbox: under construction");
}
