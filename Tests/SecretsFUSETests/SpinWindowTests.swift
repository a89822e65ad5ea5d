import Testing

@testable import SecretsFUSE

@Suite struct SpinWindowTests {
    @Test func aBurstOpensTheWindowUpToItsLimit() {
        var window = SpinWindow(maximum: 50_000)
        #expect(window.current == 0, "a new loop sleeps at once until it has seen a burst")
        window.observe(gap: 20_000)
        #expect(window.current == 12_500)
        window.observe(gap: 5_000)
        #expect(window.current == 25_000)
        window.observe(gap: 5_000)
        window.observe(gap: 5_000)
        #expect(window.current == 50_000, "never wider than the limit")
    }

    @Test func quietGapsCloseTheWindow() {
        var window = SpinWindow(maximum: 50_000)
        for _ in 0..<4 { window.observe(gap: 1_000) }
        #expect(window.current == 50_000)
        window.observe(gap: 1_000_000)
        #expect(window.current == 25_000)
        window.observe(gap: 1_000_000)
        window.observe(gap: 1_000_000)
        #expect(window.current == 6_250)
        window.observe(gap: 1_000_000)
        #expect(window.current == 3_125)
        window.observe(gap: 1_000_000)
        #expect(window.current == 0, "below a sixteenth of the limit it stops spinning")
        window.observe(gap: 1_000_000)
        #expect(window.current == 0)
    }

    @Test func aGapOfExactlyTheLimitCountsAsCaught() {
        var window = SpinWindow(maximum: 50_000)
        window.observe(gap: 50_000)
        #expect(window.current == 12_500)
    }

    @Test func aZeroLimitNeverSpins() {
        var window = SpinWindow(maximum: 0)
        window.observe(gap: 1)
        #expect(window.current == 0)
        #expect(SpinWindow(maximum: -5).maximum == 0)
    }
}
