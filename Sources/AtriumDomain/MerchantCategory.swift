/// A merchant's trade. Raw values match the protobuf enum.
public enum MerchantCategory: Int16, Sendable, CaseIterable {
    case supermarket = 1
    case foodAndBeverage = 2
    case fashion = 3
    case luxury = 4
    case cinema = 5
    case services = 6
    case electronics = 7
    case entertainment = 8
    case other = 9
}

public enum MerchantStatus: Int16, Sendable {
    case active = 1
    case suspended = 2
}
