using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Core.Filters;
using Multicast.Core.Tables;
using Multicast.Linux.Net;
using Multicast.Linux.Sockets;

namespace Multicast.Linux.Ring;

/// <summary>
/// The `ring` server: an RX ring captures the application's outgoing multicast on the interface (BPF: outgoing,
/// IPv4/UDP, destination in the configured groups), the forwarder writes one copy per member straight into TX ring
/// frames (Ethernet header from the next-hop cache), and one kick per batch sends them, bypassing the qdisc.
/// </summary>
public sealed class RingServerEngine : IServerEngine
{
    private const int LinkHeaderLength = 14;

    private readonly ServerForwarder _forwarder;
    private readonly ILogger _logger;
    private readonly RxRingOptions _options;
    private readonly RxRing _rx;
    private readonly TxRing _tx;
    private readonly RawSocketTxSlots _slowPath;
    private readonly NextHopCache _resolver;
    private readonly object _applyLock = new();
    private BacklogBoost _boost;
    private readonly RingBaton _baton = new();
    // Read here, on the daemon's main thread before it becomes the (possibly pinned) data-plane thread.
    private readonly IReadOnlyList<int> _processCpus = ThreadScheduling.AllowedCpus();

    public RingServerEngine(string interfaceName, ServerForwarder forwarder, ILogger logger)
        : this(interfaceName, forwarder, logger, RxRingOptions.Default) { }

    public RingServerEngine(string interfaceName, ServerForwarder forwarder, ILogger logger, RxRingOptions options)
    {
        _forwarder = forwarder;
        _logger = logger;
        _options = options;
        _boost = new BacklogBoost(options.Priority);
        Interface = InterfaceInfo.Get(interfaceName);
        if (!Interface.IsEthernet)
            throw new NotSupportedException($"{interfaceName}: the ring engine writes Ethernet headers; use the socket engine");
        var cleanup = new List<IDisposable>();
        try
        {
            _resolver = new NextHopCache(new NetlinkNextHopSource(Interface.Index, logger), Interface.Index, logger); cleanup.Add(_resolver);
            // The kernel routes and resolves for the slow path, so its sends are also what starts ARP.
            _slowPath = new RawSocketTxSlots(capacity: 128, slotSize: Math.Max(Interface.Mtu, 1500)); cleanup.Add(_slowPath);
            _tx = TxRing.Open(Interface.Index, Interface.Mtu); cleanup.Add(_tx);
            _rx = RxRing.Open(Interface.Index, Interface.Mtu, options,
                BpfFilterBuilder.ServerCapture(forwarder.Table.GroupAddresses.ToArray(), LinkHeaderLength), ignoreOutgoing: false);
        }
        catch
        {
            foreach (IDisposable d in cleanup) d.Dispose();
            throw;
        }
        Slots = new TxRingSlots(_tx, _resolver, Interface.Mac, _slowPath);
        _resolver.Watch(AllMembers(forwarder.Table));
        _logger.LogInformation("{Interface}: ring engine, idle {Idle}, nice {Priority}, standby {Standby}", interfaceName, options.Idle,
            DataPlanePriority.Describe(options.Priority), options.StandbyMicros > 0 ? $"{options.StandbyMicros} µs" : "off");
        if (_tx.QdiscBypassStatus < 0)
            _logger.LogInformation("{Interface}: PACKET_QDISC_BYPASS refused (errno {Errno}); copies go through the qdisc",
                interfaceName, -_tx.QdiscBypassStatus);
        if (_tx.LinearCopyStatus < 0)
            _logger.LogInformation("{Interface}: PACKET_VNET_HDR refused (errno {Errno}); copies are sent zero copy from the ring",
                interfaceName, -_tx.LinearCopyStatus);
    }

    public string Name => EngineNames.Ring;
    public long CaptureDrops => _rx.Drops;
    public long PriorityBoosts => Volatile.Read(ref _boost.Boosts);

    public long TxFullWaits => Volatile.Read(ref Slots.FullRingWaits);
    public long StandbyTakeovers => Volatile.Read(ref _baton.Takeovers);
    /// <summary>The slow path's refused sends (the ring's refused kicks are retried, see <see cref="TxRingSlots"/>).</summary>
    public long SendErrors => Volatile.Read(ref _slowPath.SendErrors);
    public long CaptureBufferBytes => _rx.Bytes;
    public HopLatency HopLatency { get; } = new(RxLoop.BatchSize);
    public InterfaceInfo Interface { get; }
    public TxRingSlots Slots { get; }
    public NextHopCache Resolver => _resolver;
    public RawSocketTxSlots SlowPath => _slowPath;
    public TxRingStats TxStatistics => _tx.ReadStatistics();
    public (ulong Packets, ulong Drops) ReadCaptureStatistics() => _rx.ReadStatistics();

    /// <summary>Publishes the table first (so a newly captured group is known), then widens or narrows the capture.</summary>
    public void Apply(FanoutTable table)
    {
        lock (_applyLock)
        {
            _forwarder.Publish(table);
            _rx.SetFilter(BpfFilterBuilder.ServerCapture(table.GroupAddresses.ToArray(), LinkHeaderLength));
            _resolver.Watch(AllMembers(table));
        }
    }

    public void Run(CancellationToken stop)
    {
        var handler = new Handler(_forwarder, Slots, HopLatency);
        if (_options.StandbyMicros <= 0)
        {
            RxLoop.Run(_rx, ref handler, _options, ref _boost, _logger, stop);
            Slots.Flush();
            return;
        }
        using var bothStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Exception? standbyFailure = null;
        // Started here, on the data-plane thread: it inherits that thread's CPUs and nice value, and sets its own.
        var standby = new Thread(() =>
        {
            try
            {
                var h = new Handler(_forwarder, Slots, HopLatency);
                StandbyLoop.Run(_rx, ref h, _baton, _options.StandbyMicros, _processCpus, _options.Priority, _logger, bothStop.Token);
            }
            catch (Exception e)
            {
                standbyFailure = e;
                bothStop.Cancel();
            }
        }) { IsBackground = true, Name = "ring standby" };
        standby.Start();
        try
        {
            RxLoop.Run(_rx, ref handler, _options, ref _boost, _logger, bothStop.Token, _baton);
        }
        finally
        {
            bothStop.Cancel();
            standby.Join();
        }
        Slots.Flush();
        if (standbyFailure is not null) throw new InvalidOperationException($"the standby thread failed: {standbyFailure.Message}", standbyFailure);
    }

    private static HashSet<uint> AllMembers(FanoutTable table)
    {
        var members = new HashSet<uint>();
        foreach (FanoutGroup g in table.Groups) members.UnionWith(g.Members);
        return members;
    }

    private readonly struct Handler(ServerForwarder forwarder, TxRingSlots slots, HopLatency hop) : IFrameHandler
    {
        public void OnFrame(in RingFrame frame)
        {
            hop.Captured(frame.CapturedAtNs);
            forwarder.Forward(frame.Network, frame.ChecksumNotReady, slots);
        }

        public void EndBatch()
        {
            hop.Transmitting(HopLatency.NowNs());
            slots.Flush();
        }

        public void Idle() => slots.Flush();
    }

    public void Dispose()
    {
        _rx.Dispose();
        _tx.Dispose();
        _slowPath.Dispose();
        _resolver.Dispose();
    }
}
