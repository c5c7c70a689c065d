using System.Runtime.InteropServices;

namespace Multicast.Linux.Ring;

/// <summary>One captured frame, pointing into the mmapped RX ring (mirror of struct mc_frame). Valid until release.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly unsafe struct RingFrame
{
    private const ushort ChecksumNotReadyFlag = 0x1;
    private const ushort TruncatedFlag = 0x2;

    private readonly byte* _data;
    private readonly uint _length;
    private readonly ushort _networkOffset;
    private readonly ushort _flags;
    private readonly uint _seconds;
    private readonly uint _nanoseconds;

    /// <summary>The whole frame from the link-layer header.</summary>
    public ReadOnlySpan<byte> Frame => new(_data, (int)_length);

    /// <summary>From the network header on (what the forwarders take).</summary>
    public ReadOnlySpan<byte> Network =>
        _networkOffset <= _length ? new(_data + _networkOffset, (int)_length - _networkOffset) : default;

    /// <summary>TP_STATUS_CSUMNOTREADY: the L4 checksum field holds only the pseudo-header sum (TX offload pending).</summary>
    public bool ChecksumNotReady => (_flags & ChecksumNotReadyFlag) != 0;

    /// <summary>When the kernel captured the frame, in ns since the epoch (CLOCK_REALTIME, as the ring header carries it).</summary>
    public long CapturedAtNs => _seconds * 1_000_000_000L + _nanoseconds;

    /// <summary>The packet was longer than a ring frame; only the start was captured.</summary>
    public bool Truncated => (_flags & TruncatedFlag) != 0;
}
