using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Tables;
using Multicast.Pcap.Native;
using Multicast.Pcap.Tx;

namespace Multicast.Pcap;

/// <summary>
/// The `pcap` server: SharpPcap opens the interface and installs a filter for the configured groups (outgoing only);
/// the loop runs on the native handle; each copy gets an Ethernet header for its next hop and leaves in batches
/// (Npcap send queue on Windows, pcap_sendpacket per frame on Linux), or through the OS when the next hop is unknown.
/// </summary>
public sealed class PcapServerEngine : IServerEngine, IFrameSink
{
    private readonly ServerForwarder _forwarder;
    private readonly ILogger _logger;
    private readonly INextHopResolver _resolver;
    private readonly PcapCapture _capture;
    private readonly object _applyLock = new();
    private readonly ulong? _filterMac;

    public string Name => EngineNames.Pcap;
    public CaptureInterface Interface { get; }
    public EthernetTxSlots Slots { get; }
    public PcapCapture Capture => _capture;
    public long CaptureDrops => _capture.Drops;
    public long CaptureBufferBytes => _capture.BufferBytes;
    public long SendErrors => Volatile.Read(ref Slots.SendErrors);

    /// <param name="createResolver">The platform's next-hop resolver for the interface; owned by the engine.</param>
    /// <param name="createSlowPath">OS-routed sends for copies the engine cannot frame; owned by the engine.</param>
    /// <param name="captureBytes">libpcap's capture buffer; null = <see cref="PcapCapture.DefaultBufferBytes"/>.</param>
    public PcapServerEngine(string interfaceName, ServerForwarder forwarder, ILogger logger,
        Func<CaptureInterface, INextHopResolver> createResolver, Func<CaptureInterface, ITxSlots> createSlowPath, int? captureBytes = null)
    {
        _forwarder = forwarder;
        _logger = logger;
        INextHopResolver? resolver = null;
        ITxSlots? slowPath = null;
        try
        {
            Interface = PcapDevices.Find(interfaceName);
            _resolver = resolver = createResolver(Interface);
            slowPath = createSlowPath(Interface);
            if (Interface.Mac == 0) throw new NotSupportedException($"{interfaceName} has no Ethernet address; the pcap engine frames Ethernet");
            // Npcap cannot select the direction, so the filter keeps to frames this host sent.
            _filterMac = OperatingSystem.IsWindows() ? Interface.Mac : null;
            _capture = new PcapCapture(Interface.Device, Filter(forwarder.Table), OperatingSystem.IsWindows() ? null : LibPcap.DirectionOut, logger, Interface.Mtu,
                bufferBytes: captureBytes);
            Slots = OperatingSystem.IsWindows()
                ? new NpcapSendQueueTxSlots(_capture.Handle, resolver, slowPath, Interface.Mac, Interface.Mtu)
                : new LibpcapInjectTxSlots(_capture.Handle, resolver, slowPath, Interface.Mac, Interface.Mtu);
        }
        catch
        {
            _capture?.Dispose();
            resolver?.Dispose();
            (slowPath as IDisposable)?.Dispose();
            throw;
        }
        _resolver.Watch(Members(forwarder.Table));
    }

    /// <summary>Publishes the table first (a frame of a new group must find its members), then the filter (which changes
    /// only between "no groups" and "any group", see PcapFilterBuilder.ServerCapture).</summary>
    public void Apply(FanoutTable table)
    {
        lock (_applyLock)
        {
            _forwarder.Publish(table);
            _resolver.Watch(Members(table));
            _capture.SetFilter(Filter(table));
        }
    }

    public void Run(CancellationToken stop)
    {
        _capture.Run(this, stop);
        Slots.Flush();
        _logger.LogDebug("pcap server engine stopped");
    }

    /// <summary>A pcap_dispatch hands over all it has buffered: this many frames of a batch are measured, the rest counted.</summary>
    private const int MeasuredPerBatch = 4096;

    public HopLatency HopLatency { get; } = new(MeasuredPerBatch);

    void IFrameSink.OnFrame(ReadOnlySpan<byte> frame, bool truncated, long capturedAtNs)
    {
        HopLatency.Captured(capturedAtNs);
        if (truncated || frame.Length < EthernetTxSlots.EthernetHeaderLength)
        {
            ServerCounters c = _forwarder.Counters;
            c.Captured++;
            c.DroppedMalformed++;
            return;
        }
        ReadOnlySpan<byte> ip = frame[EthernetTxSlots.EthernetHeaderLength..];
        _forwarder.Forward(ip, ChecksumOffload.LooksPartial(ip), Slots);
    }

    void IFrameSink.EndBatch()
    {
        HopLatency.Transmitting(HopLatency.NowNs());
        Slots.Flush();
    }

    private string Filter(FanoutTable table) => PcapFilterBuilder.ServerCapture(table.GroupAddresses.ToArray(), _filterMac, listGroups: false);

    private static HashSet<uint> Members(FanoutTable table)
    {
        var members = new HashSet<uint>();
        foreach (FanoutGroup g in table.Groups) members.UnionWith(g.Members);
        return members;
    }

    public void Dispose()
    {
        _capture.Dispose();
        Slots.Dispose();
        (Slots.SlowPath as IDisposable)?.Dispose();
        _resolver.Dispose();
    }
}
