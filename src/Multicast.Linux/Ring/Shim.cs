using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Multicast.Core.Filters;

namespace Multicast.Linux.Ring;

/// <summary>
/// Entry points of the native shim (the contract is native/mcshim.h; one C file per concept beside it). Ring
/// bookkeeping calls that never block are marked SuppressGCTransition: they run per frame, and the transition would
/// cost more than the call.
/// </summary>
internal static unsafe partial class Shim
{
    static Shim() => ShimLibrary.EnsureResolver();

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_last_error")]
    internal static partial nint LastError();

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_open")]
    internal static partial int RxOpen(int ifindex, int version, uint blockSize, uint blockCount, uint frameSize,
        uint blockTimeoutMs, BpfInstruction* filter, ushort filterLength, int ignoreOutgoing, out nint rx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_ignore_outgoing")]
    internal static partial int RxIgnoreOutgoing(nint rx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_set_filter")]
    internal static partial int RxSetFilter(nint rx, BpfInstruction* filter, ushort filterLength);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_wait")]
    internal static partial int RxWait(nint rx, int timeoutMs);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_walk")]
    [SuppressGCTransition]
    internal static partial int RxWalk(nint rx, RingFrame* frames, int max);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_release")]
    [SuppressGCTransition]
    internal static partial void RxRelease(nint rx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_stats")]
    internal static partial int RxStats(nint rx, out ShimRxStats stats);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_rx_close")]
    internal static partial void RxClose(nint rx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_open")]
    internal static partial int TxOpen(int ifindex, uint frameSize, uint frameCount, int qdiscBypass, out nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_qdisc_bypass")]
    internal static partial int TxQdiscBypass(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_linear")]
    internal static partial int TxLinear(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_capacity")]
    internal static partial uint TxCapacity(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_frame")]
    [SuppressGCTransition]
    internal static partial byte* TxFrame(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_ready")]
    [SuppressGCTransition]
    internal static partial void TxReady(nint tx, uint length);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_kick")]
    internal static partial int TxKick(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_wait")]
    internal static partial int TxWait(nint tx, uint timeoutMicroseconds);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_pending")]
    [SuppressGCTransition]
    internal static partial uint TxPending(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_stats")]
    internal static partial void TxStats(nint tx, out TxRingStats stats);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_tx_close")]
    internal static partial void TxClose(nint tx);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_if_get", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int InterfaceGet(string name, out ShimInterface info);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_nl_open")]
    internal static partial int NetlinkOpen();

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_nl_open_route_events")]
    internal static partial int NetlinkOpenRouteEvents();

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_nl_route_events")]
    internal static partial int NetlinkRouteEvents(int fd);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_route_get")]
    internal static partial int RouteGet(int netlink, uint destination, out ShimRoute route);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_neigh_list")]
    internal static partial int NeighbourList(int netlink, int ifindex, ShimNeighbour* output, int max);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_nft_open")]
    internal static partial int NftOpen();

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_nft_rule_counters", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int NftRuleCounters(int nft, int family, string table, string chain, ShimNftCounter* output, int max);

    [LibraryImport(ShimLibrary.Name, EntryPoint = "mc_fd_close")]
    internal static partial void FdClose(int fd);

    /// <summary>Host-order IPv4 (how the project holds addresses) to the network-order value C expects.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint ToNetwork(uint hostOrder) =>
        BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(hostOrder) : hostOrder;
}
