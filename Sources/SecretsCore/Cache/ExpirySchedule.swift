/// When each cached answer's lifetime ends, soonest first: a binary heap, so a mount holding many
/// answers finds the next one due without looking at the others. An answer replaced or dropped
/// leaves its old moment behind; whoever takes a moment checks that it is still the entry's own.
struct ExpirySchedule {
    struct Due {
        var at: Duration
        var key: CacheKey
    }

    private var heap: [Due] = []

    var next: Due? { heap.first }
    var count: Int { heap.count }

    mutating func insert(_ key: CacheKey, at: Duration) {
        heap.append(Due(at: at, key: key))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Takes the soonest moment if it is not after `now`.
    mutating func takeDue(at now: Duration) -> Due? {
        guard let first = heap.first, first.at <= now else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count, heap[right].at < heap[smallest].at { smallest = right }
            guard smallest != parent else { return first }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    mutating func removeAll() { heap.removeAll() }
}
