//! Two pieces of work on the machine's two cores: the one place that runs a
//! second thread beside the caller and carries its panic over (the render,
//! the self-check and the directory write split their work this way).

/// `here()` on this thread and `there()` on a second one, both to the end;
/// a panic on the second thread resumes on this one.
pub(crate) fn both<A, B>(here: impl FnOnce() -> A, there: impl FnOnce() -> B + Send) -> (A, B)
where
    B: Send,
{
    std::thread::scope(|s| {
        let other = s.spawn(there);
        let mine = here();
        let theirs = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (mine, theirs)
    })
}

#[cfg(test)]
mod tests {
    use super::both;

    #[test]
    fn both_results_come_back_in_place() {
        let (a, b) = both(|| 1, || "two");
        assert_eq!((a, b), (1, "two"));
    }

    #[test]
    fn a_panic_on_the_second_thread_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| both(|| 1, || -> u8 { panic!("there") }));
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"there"));
    }
}
