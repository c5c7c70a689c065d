namespace Multicast.Core.DataPlane;

/// <summary>Every path a captured packet can take on the server. Single writer (the data-plane thread).</summary>
public sealed class ServerCounters
{
    public long Captured;
    public long CapturedBytes;
    public long Forwarded;
    public long CopiesSent;
    public long CopyBytes;
    public long DroppedMalformed;
    public long DroppedNotUdp;
    public long DroppedNoGroup;
    public long DroppedNoMembers;
    public long CopiesDroppedTxFull;
    public long ChecksumsCompleted;
    public long ChecksumsUnfixable;
    public long Fragments;

    public IEnumerable<(string Name, long Value)> Snapshot() =>
    [
        ("captured", Volatile.Read(ref Captured)),
        ("captured_bytes", Volatile.Read(ref CapturedBytes)),
        ("forwarded", Volatile.Read(ref Forwarded)),
        ("copies_sent", Volatile.Read(ref CopiesSent)),
        ("copy_bytes", Volatile.Read(ref CopyBytes)),
        ("dropped_malformed", Volatile.Read(ref DroppedMalformed)),
        ("dropped_not_udp", Volatile.Read(ref DroppedNotUdp)),
        ("dropped_no_group", Volatile.Read(ref DroppedNoGroup)),
        ("dropped_no_members", Volatile.Read(ref DroppedNoMembers)),
        ("copies_dropped_tx_full", Volatile.Read(ref CopiesDroppedTxFull)),
        ("checksums_completed", Volatile.Read(ref ChecksumsCompleted)),
        ("checksums_unfixable", Volatile.Read(ref ChecksumsUnfixable)),
        ("fragments", Volatile.Read(ref Fragments)),
    ];
}

/// <summary>Every path a received packet can take on a member. Single writer.</summary>
public sealed class ClientCounters
{
    public long Received;
    public long ReceivedBytes;
    public long Delivered;
    public long DeliveredBytes;
    public long DroppedMalformed;
    public long DroppedNotUdp;
    public long DroppedNotMarked;
    public long DroppedUnknownServer;
    public long DroppedUnknownPort;
    public long DroppedFragmentUnmatched;
    public long DroppedDeliveryFull;
    public long Fragments;
    /// <summary>Whole datagrams that reached user space although the kernel delivers them (filter not yet narrowed).</summary>
    public long IgnoredKernelDelivers;

    public IEnumerable<(string Name, long Value)> Snapshot() =>
    [
        ("received", Volatile.Read(ref Received)),
        ("received_bytes", Volatile.Read(ref ReceivedBytes)),
        ("delivered", Volatile.Read(ref Delivered)),
        ("delivered_bytes", Volatile.Read(ref DeliveredBytes)),
        ("dropped_malformed", Volatile.Read(ref DroppedMalformed)),
        ("dropped_not_udp", Volatile.Read(ref DroppedNotUdp)),
        ("dropped_not_marked", Volatile.Read(ref DroppedNotMarked)),
        ("dropped_unknown_server", Volatile.Read(ref DroppedUnknownServer)),
        ("dropped_unknown_port", Volatile.Read(ref DroppedUnknownPort)),
        ("dropped_fragment_unmatched", Volatile.Read(ref DroppedFragmentUnmatched)),
        ("dropped_delivery_full", Volatile.Read(ref DroppedDeliveryFull)),
        ("fragments", Volatile.Read(ref Fragments)),
        ("ignored_kernel_delivers", Volatile.Read(ref IgnoredKernelDelivers)),
    ];
}
