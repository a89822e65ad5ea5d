/// A folder's names and the current secrets directly in it that came with them, by name
/// (`SecretStore.listWithCurrent`). A struct, not a tuple: a tuple returned across a suspension is
/// what Swift 6.3 miscompiles (see `PathAnswer`), and a debug test binary holding this answer as
/// a tuple crashed on a garbage pointer in one layout of the code and not in another.
public struct ListingWithCurrent: Sendable {
    public var listing: Listing
    public var current: [String: Secret]

    public init(_ listing: Listing, current: [String: Secret] = [:]) {
        self.listing = listing
        self.current = current
    }
}
