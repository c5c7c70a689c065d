using System.Text;
using Multicast.Linux.Ring;

namespace Multicast.Linux.Nftables;

/// <summary>
/// Reads the counters of a chain's rules over netlink (one NFT_MSG_GETRULE dump), keyed by each rule's comment.
/// Running `nft -j list` instead costs a process start (~10 ms of CPU) per reading: on a member with many clients
/// that read once a second, that was a steady tax on the host the receivers run on. The socket belongs to the
/// network namespace of the thread that creates the reader. Not thread-safe: callers serialize.
/// </summary>
public sealed unsafe class NftCounterReader : IDisposable
{
    public const int NetdevFamily = 5; // NFPROTO_NETDEV
    private int _fd;
    private ShimNftCounter[] _buffer = new ShimNftCounter[64];

    public NftCounterReader() => _fd = ShimException.Check(Shim.NftOpen(), "netlink (netfilter)");

    /// <summary>Packets and bytes per rule comment; empty when the table or chain does not exist.</summary>
    public Dictionary<string, (long Packets, long Bytes)> Read(int family, string table, string chain)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        while (true)
        {
            int n;
            fixed (ShimNftCounter* p = _buffer) n = Shim.NftRuleCounters(_fd, family, table, chain, p, _buffer.Length);
            if (n < 0) throw new InvalidOperationException(ShimException.FromResult(n, $"read the counters of {table} {chain}").Message);
            // A full buffer may have cut the dump short: read again with room to spare.
            if (n == _buffer.Length) { _buffer = new ShimNftCounter[_buffer.Length * 4]; continue; }
            var result = new Dictionary<string, (long, long)>(n);
            for (int i = 0; i < n; i++)
            {
                fixed (byte* c = _buffer[i].Comment)
                {
                    var comment = new ReadOnlySpan<byte>(c, 64);
                    int end = comment.IndexOf((byte)0);
                    result[Encoding.UTF8.GetString(end < 0 ? comment : comment[..end])] = ((long)_buffer[i].Packets, (long)_buffer[i].Bytes);
                }
            }
            return result;
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) Shim.FdClose(fd);
    }
}
