using BenchmarkDotNet.Attributes;
using Multicast.Core.Config;
using Multicast.Core.DataPlane;
using Multicast.Core.Packets;
using Multicast.Core.Tables;

namespace Multicast.Bench;

/// <summary>The per-datagram work before any copy: structural checks and the group lookup.</summary>
[MemoryDiagnoser]
public class ClassifyBenchmarks
{
    private FanoutTable _table = FanoutTable.Empty;
    private byte[] _hit = [], _miss = [];

    [GlobalSetup]
    public void Setup()
    {
        // 256 groups: the table size a busy source host might carry.
        var groups = new List<GroupConfig>();
        for (uint i = 0; i < 256; i++) groups.Add(new GroupConfig(Packets.Group + i, 0, 0, [0x0A010001]));
        _table = new FanoutTable(new ServerConfig(groups), null);
        _hit = Packets.Udp(100, Packets.Sender, Packets.Group + 17, Packets.GroupPort);
        _miss = Packets.Udp(100, Packets.Sender, 0x0A000002, Packets.GroupPort);
    }

    [Benchmark]
    public FanoutGroup? ClassifyGroupHit() => Classify(_hit);

    [Benchmark]
    public FanoutGroup? ClassifyNotAGroup() => Classify(_miss);

    private FanoutGroup? Classify(ReadOnlySpan<byte> frame) =>
        PacketCheck.Check(frame, out int total) == PacketVerdict.Ok
            ? _table.Lookup(Ipv4Header.Destination(frame[..total]))
            : null;
}

/// <summary>
/// The per-member header work in isolation: destination, TOS, TTL, port and both checksums updated incrementally
/// on a packet already in place (no payload copy).
/// </summary>
[MemoryDiagnoser]
public class RewriteBenchmarks
{
    private byte[] _packet = [];
    private uint _member = 0x0A010001;

    /// <summary>The packet both bodies rewrite in place (read by the benchmarks' smoke test).</summary>
    public byte[] Packet => _packet;

    [GlobalSetup]
    public void Setup() => _packet = Packets.Udp(1400, Packets.Sender, Packets.Group, Packets.GroupPort);

    [Benchmark]
    public ushort RewriteOneCopyIncremental()
    {
        Span<byte> ip = _packet;
        Span<byte> udp = ip[20..];
        uint oldDst = Ipv4Header.Destination(ip), newDst = _member++;
        ushort oldPort = UdpHeader.DestinationPort(udp), newPort = (ushort)(oldPort ^ 1);
        ushort oldWord0 = (ushort)(ip[0] << 8 | ip[1]), oldWord8 = (ushort)(ip[8] << 8 | ip[9]);
        ip[Ipv4Header.TosOffset] = ProxyMarker.Tos;
        ip[Ipv4Header.TtlOffset] = ProxyMarker.MinimumTtl;
        Ipv4Header.SetDestination(ip, newDst);
        uint oldSum = InternetChecksum.SumOf(oldDst) + oldWord0 + oldWord8;
        uint newSum = InternetChecksum.SumOf(newDst) + (uint)(ip[0] << 8 | ip[1]) + (uint)(ip[8] << 8 | ip[9]);
        Ipv4Header.SetChecksum(ip, InternetChecksum.Update(Ipv4Header.Checksum(ip), oldSum, newSum));
        UdpHeader.SetDestinationPort(udp, newPort);
        ushort c = InternetChecksum.Update(UdpHeader.Checksum(udp),
            InternetChecksum.SumOf(oldDst) + oldPort, InternetChecksum.SumOf(newDst) + newPort);
        UdpHeader.SetChecksum(udp, c == 0 ? (ushort)0xFFFF : c);
        return c;
    }

    /// <summary>What the incremental update avoids: summing the header and the whole datagram again per copy.</summary>
    [Benchmark]
    public ushort RewriteOneCopyFullRecompute()
    {
        Span<byte> ip = _packet;
        Ipv4Header.SetDestination(ip, _member++);
        ip[Ipv4Header.TosOffset] = ProxyMarker.Tos;
        Ipv4Header.SetChecksum(ip, Ipv4Header.ComputeChecksum(ip));
        ushort c = UdpHeader.ComputeChecksum(ip);
        UdpHeader.SetChecksum(ip[20..], c);
        return c;
    }
}

/// <summary>
/// One captured datagram fanned out to N members into a pre-sized in-memory TX ring, end to end through
/// <see cref="ServerForwarder.Forward"/>. Every invocation produces <see cref="CopiesPerInvoke"/> copies (the datagram
/// is forwarded 1024/N times), so the reported time is per member copy. The baseline copies the same bytes into the
/// same slots with a plain memcpy and nothing else.
/// </summary>
[MemoryDiagnoser]
public class FanoutBenchmarks
{
    public const int CopiesPerInvoke = 1024;
    private const int SlotSize = 2048;

    [Params(100, 1400)]
    public int DatagramBytes { get; set; }

    [Params(1, 8, 64, 1024)]
    public int Members { get; set; }

    private ServerForwarder _server = new();
    private MemoryTxRing _ring = new(1, 1);
    private NextHopCache? _nextHops;
    private MemoryFramedRing? _framed;
    private byte[] _datagram = [];
    private byte[] _slots = [];

    [GlobalSetup]
    public void Setup()
    {
        _server = new ServerForwarder();
        _server.Publish(new FanoutTable(new ServerConfig(
            [new GroupConfig(Packets.Group, Packets.GroupPort, Packets.ServerPort, Packets.Members(Members))]), null));
        _ring = new MemoryTxRing(Members, SlotSize);
        _nextHops = ResolvedNeighbours.Cache(Packets.Members(Members));
        _framed = new MemoryFramedRing(_nextHops, Members, SlotSize);
        _slots = new byte[Members * SlotSize];
        _datagram = Packets.Udp(DatagramBytes, Packets.Sender, Packets.Group, Packets.GroupPort);
        // Measure the framed path, not the slow path it falls back to when a member has no MAC or a frame no room.
        _server.Forward(_datagram, udpChecksumPartial: true, _framed);
        _framed.Flush();
        if (_framed.FramedCopies != Members || _framed.SlowPathCopies != 0)
            throw new InvalidOperationException($"framed {_framed.FramedCopies}, slow path {_framed.SlowPathCopies} of {Members} copies");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CopiesPerInvoke)]
    public void MemcpyPerMember()
    {
        ReadOnlySpan<byte> src = _datagram;
        Span<byte> slots = _slots;
        int members = Members;
        for (int round = 0; round < CopiesPerInvoke / members; round++)
            for (int i = 0; i < members; i++)
                src.CopyTo(slots.Slice(i * SlotSize, src.Length));
    }

    [Benchmark(OperationsPerInvoke = CopiesPerInvoke)]
    public void Fanout()
    {
        for (int round = 0; round < CopiesPerInvoke / Members; round++)
        {
            _server.Forward(_datagram, udpChecksumPartial: false, _ring);
            _ring.Flush();
        }
    }

    /// <summary>Veth / cloud TX offload: the UDP checksum is completed once per datagram before the per-member updates.</summary>
    [Benchmark(OperationsPerInvoke = CopiesPerInvoke)]
    public void FanoutChecksumOffloaded()
    {
        for (int round = 0; round < CopiesPerInvoke / Members; round++)
        {
            _server.Forward(_datagram, udpChecksumPartial: true, _ring);
            _ring.Flush();
        }
    }

    /// <summary>
    /// The ring engine's copy: as <see cref="FanoutChecksumOffloaded"/> (a captured frame on veth or a cloud NIC), plus
    /// the member's next hop looked up and an Ethernet header written per copy.
    /// </summary>
    [Benchmark(OperationsPerInvoke = CopiesPerInvoke)]
    public void FanoutFramed()
    {
        MemoryFramedRing framed = _framed!;
        for (int round = 0; round < CopiesPerInvoke / Members; round++)
        {
            _server.Forward(_datagram, udpChecksumPartial: true, framed);
            framed.Flush();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _nextHops?.Dispose();
}

/// <summary>
/// What timing the proxy's own hop (HopLatency) adds to the ring engine's work per datagram: a stored capture stamp per
/// datagram, and per batch one clock read and the histogram recordings. Baseline: the same batch untimed, 4 members.
/// </summary>
[MemoryDiagnoser]
public class HopLatencyBenchmarks
{
    public const int Batch = 16;
    private const int Members = 4, SlotSize = 2048;
    private readonly ServerForwarder _server = new();
    private readonly HopLatency _hop = new(Batch);
    private NextHopCache? _nextHops;
    private MemoryFramedRing? _framed;
    private byte[] _datagram = [];
    private long _stamp;

    [GlobalSetup]
    public void Setup()
    {
        _server.Publish(new FanoutTable(new ServerConfig(
            [new GroupConfig(Packets.Group, Packets.GroupPort, Packets.ServerPort, Packets.Members(Members))]), null));
        _nextHops = ResolvedNeighbours.Cache(Packets.Members(Members));
        _framed = new MemoryFramedRing(_nextHops, Members * Batch, SlotSize);
        _datagram = Packets.Udp(100, Packets.Sender, Packets.Group, Packets.GroupPort);
        _stamp = HopLatency.NowNs();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void ForwardBatch()
    {
        MemoryFramedRing framed = _framed!;
        for (int i = 0; i < Batch; i++) _server.Forward(_datagram, udpChecksumPartial: true, framed);
        framed.Flush();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void ForwardBatchTimed()
    {
        MemoryFramedRing framed = _framed!;
        for (int i = 0; i < Batch; i++)
        {
            _hop.Captured(_stamp);
            _server.Forward(_datagram, udpChecksumPartial: true, framed);
        }
        _hop.Transmitting(HopLatency.NowNs());
        framed.Flush();
    }

    /// <summary>Datagrams timed so far (read by the benchmarks' smoke test).</summary>
    public long Timed => (long)_hop.Snapshot()["count"]!;

    [GlobalCleanup]
    public void Cleanup() => _nextHops?.Dispose();
}
