using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Cluster;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// The node's own missing-singleton warning (Akka's proxy warning is off: it fires falsely on every start): quiet
/// while every singleton runs on the oldest node, one warning for one that has been missing long enough, and an
/// info line when it is back.
/// </summary>
public sealed class SingletonWatchTests : TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public SingletonWatchTests() : base(ConfigurationFactory.ParseString("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.port = 0
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.loglevel = INFO
        """))
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        AwaitCondition(() => cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up, TimeSpan.FromSeconds(20), cancellationToken: Ct);
    }

    /// <summary>Stands for a singleton manager: its child of the same name is the singleton.</summary>
    private sealed class Manager : ReceiveActor
    {
        public Manager(string name)
        {
            var singleton = Context.ActorOf(Props.Create(() => new Singleton()), name);
            Receive<string>(m => m == "stop", _ => Context.Stop(singleton));
            Receive<string>(m => m == "start", _ => singleton = Context.ActorOf(Props.Create(() => new Singleton()), name));
        }
    }

    private sealed class Singleton : ReceiveActor;

    [Fact]
    public void A_singleton_missing_on_the_oldest_node_is_warned_about_once_and_its_return_is_told()
    {
        Sys.ActorOf(Props.Create(() => new Manager("running")), "running");
        Sys.ActorOf(Props.Create(() => new Manager("stopping")), "stopping");

        // Everything running: nothing to say.
        var watch = Sys.ActorOf(SingletonWatch.Props(["running", "stopping"], TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)));
        EventFilter.Warning(contains: "singleton").Expect(0, TimeSpan.FromSeconds(2), () => { }, Ct);

        // One stops for good: one warning naming it, not repeated.
        EventFilter.Warning(contains: "singleton stopping has not been running").ExpectOne(TimeSpan.FromSeconds(5),
            () => Sys.ActorSelection("/user/stopping").Tell("stop"), Ct);
        EventFilter.Warning(contains: "singleton").Expect(0, TimeSpan.FromSeconds(2), () => { }, Ct);

        // It comes back (a new incarnation under its manager): said once.
        EventFilter.Info(contains: "singleton stopping is running again").ExpectOne(TimeSpan.FromSeconds(5),
            () => Sys.ActorSelection("/user/stopping").Tell("start"), Ct);
        Sys.Stop(watch);
    }
}
