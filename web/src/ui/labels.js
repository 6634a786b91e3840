// What the workspace calls things, in Vietnamese. Codes stay codes on the wire.

export const RISK = {
  danger: "KHẨN CẤP – đang gặp nguy hiểm", self_harm: "KHẨN CẤP – nguy cơ tự hại",
  high: "Cao", standard: "Thông thường",
};
export const STATUS = {
  queued: "Đang chờ", claimed: "Đang trò chuyện", ended: "Người dùng đã rời – cần ghi kết quả",
  closed: "Đã đóng", cancelled: "Đã huỷ",
};
export const OUTCOMES = {
  information_given: "Đã cung cấp thông tin", referred: "Đã chuyển tuyến",
  safety_plan: "Đã lập kế hoạch an toàn", callback_done: "Đã gọi lại",
  could_not_reach: "Không liên lạc được", user_ended: "Người dùng đã kết thúc",
};
export const KINDS = {
  physical: "Thể chất", sexual: "Tình dục", psychological: "Tâm lý – tinh thần",
  economic: "Kinh tế", online: "Trên mạng", workplace_sexual_harassment: "Quấy rối tình dục nơi làm việc",
};
export const CONTEXTS = {
  domestic: "Gia đình", workplace: "Nơi làm việc", public: "Nơi công cộng", online: "Trên mạng",
};
export const NEEDS = {
  emergency: "Khẩn cấp", domestic_violence: "Bạo lực gia đình", sexual_violence: "Bạo lực tình dục",
  legal: "Pháp lý", psychological: "Tâm lý", children: "Trẻ em", shelter: "Nơi tạm lánh",
  medical: "Y tế", workplace: "Nơi làm việc",
};
export const ROLES = {
  counselor: "Tư vấn viên", supervisor: "Giám sát viên", editor: "Biên tập viên",
  reviewer: "Người duyệt nội dung", manager: "Quản lý chương trình", admin: "Quản trị viên",
};
export const CONTENT_ROLES = ["editor", "reviewer"];
export const SHARE = {
  transcript: "Toàn bộ cuộc trò chuyện với bot", note: "Chỉ một ghi chú", nothing: "Không chia sẻ nội dung",
};
export const ERRORS = {
  unauthorized: "Phiên đăng nhập không còn hiệu lực.",
  forbidden: "Bạn không có quyền làm việc này.",
  not_found: "Không tìm thấy.",
  conflict: "Trạng thái đã thay đổi (ví dụ: ca đã có người nhận hoặc đã đóng). Trang đã được cập nhật.",
  no_counselors: "Không còn ai đọc được ca này.",
  too_many_requests: "Thao tác quá nhanh; hãy thử lại sau ít phút.",
  network: "Không kết nối được tới máy chủ. Nội dung bạn đang soạn vẫn được giữ.",
  bad_request: "Yêu cầu không hợp lệ.",
  internal: "Máy chủ gặp lỗi. Nội dung bạn đang soạn vẫn được giữ; hãy thử lại.",
};

export function errorText(error) {
  return ERRORS[error?.code] || error?.message || "Đã có lỗi.";
}
