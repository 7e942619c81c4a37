import Testing
@testable import SensorgateHTTP

/// Requests as curl, a browser and Prometheus send them, and the malformed ones each answered
/// with its own status.
@Suite struct HTTPRequestParserTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func parsesARequestFromCurlWithItsQueryAndHeaders() throws {
        let text = "GET /status?history=1&token=a%2Bb+c HTTP/1.1\r\nHost: 127.0.0.1:9180\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nAuthorization:  Bearer s3cret \r\n\r\n"
        let (request, consumed) = try #require(try HTTPRequestParser.parse(Self.bytes(text)))
        #expect(consumed == text.utf8.count)
        #expect(request.method == "GET")
        #expect(request.path == "/status")
        #expect(request.query == ["history": "1", "token": "a+b c"])
        #expect(request.header("authorization") == "Bearer s3cret")
        #expect(request.header("host") == "127.0.0.1:9180")
        #expect(request.keepAlive)
    }

    @Test func waitsForTheEndOfTheHeadersAndTakesPipelinedRequestsOneByOne() throws {
        #expect(try HTTPRequestParser.parse(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n")) == nil)
        let two = Self.bytes("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n")
        let (first, used) = try #require(try HTTPRequestParser.parse(two))
        #expect(first.path == "/a")
        let (second, _) = try #require(try HTTPRequestParser.parse(Array(two[used...])))
        #expect(second.path == "/b")
        #expect(!second.keepAlive)
    }

    @Test func http10KeepsTheConnectionOnlyWhenAsked() throws {
        let (plain, _) = try #require(try HTTPRequestParser.parse(Self.bytes("GET / HTTP/1.0\r\n\r\n")))
        #expect(!plain.keepAlive)
        let (asked, _) = try #require(try HTTPRequestParser.parse(Self.bytes("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")))
        #expect(asked.keepAlive)
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET noslash HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 413),
        ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 413),
    ])
    func malformedRequestsAreNamedErrors(_ text: String, _ status: Int) {
        #expect(throws: HTTPRequestError.self) { try HTTPRequestParser.parse(Self.bytes(text)) }
        do { _ = try HTTPRequestParser.parse(Self.bytes(text)) } catch { #expect(error.status == status) }
    }

    @Test func headersBeyondTheLimitAreRefusedBeforeTheyEnd() {
        let huge = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: HTTPRequestParser.maxHeaderBytes + 10)
        #expect(throws: HTTPRequestError.headersTooLarge) { try HTTPRequestParser.parse(Self.bytes(huge)) }
    }

    @Test func percentDecodingRejectsBrokenEscapes() {
        #expect(HTTPRequest.percentDecoded("%41%42") == "AB")
        #expect(HTTPRequest.percentDecoded("%4") == nil)
        #expect(HTTPRequest.percentDecoded("%ZZ") == nil)
        #expect(HTTPRequest.percentDecoded("%C3%A9") == "é")
        #expect(HTTPRequest.percentDecoded("%FF") == nil)
    }

    @Test func serverSentEventsSplitDataIntoLines() {
        #expect(String(decoding: serverSentEvent("status", data: "{\"a\":1}"), as: UTF8.self) == "event: status\ndata: {\"a\":1}\n\n")
        #expect(String(decoding: serverSentEvent(nil, data: "a\nb"), as: UTF8.self) == "data: a\ndata: b\n\n")
    }
}
