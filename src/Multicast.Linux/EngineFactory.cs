using Microsoft.Extensions.Logging;
using Multicast.Core.DataPlane;
using Multicast.Core.Engines;
using Multicast.Linux.Sockets;

namespace Multicast.Linux;

/// <summary>Creates the engine named by --engine.</summary>
public static class EngineFactory
{
    public static readonly string[] ServerEngines = [EngineNames.Ring, EngineNames.Socket];

    public static IServerEngine CreateServer(string engine, string interfaceName, ServerForwarder forwarder, ILogger logger) =>
        engine switch
        {
            EngineNames.Socket => new SocketServerEngine(interfaceName, forwarder, logger),
            EngineNames.Ring => throw new InvalidOperationException("the ring engine is not available in this build; use --engine socket"),
            _ => throw new ArgumentException($"unknown engine '{engine}' (expected one of: {string.Join(", ", ServerEngines)})"),
        };

    public static IClientEngine CreateClient(string engine, string interfaceName, ClientForwarder forwarder, ITxSlots delivery, ILogger logger) =>
        engine switch
        {
            EngineNames.Socket => new SocketClientEngine(interfaceName, forwarder, delivery, logger),
            EngineNames.Ring => throw new InvalidOperationException("the ring engine is not available in this build; use --engine socket"),
            _ => throw new ArgumentException($"unknown engine '{engine}' (expected one of: {string.Join(", ", ServerEngines)})"),
        };
}
